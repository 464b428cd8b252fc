-- consolidated-table.sql - an Athena table over what `swrepart sync`
-- publishes: one Avro object per day under
--   s3://TARGET-BUCKET/consolidated/startYear=Y/startMonth=M/startDay=D/
-- (no zero padding).  Partition projection computes the partitions from
-- the query's predicates, so no MSCK REPAIR or crawler is needed when
-- sync adds days.  Replace TARGET-BUCKET (and the prefix, if
-- s3.repartitioned.data_prefix is not consolidated/), and widen the year
-- range to cover your data.  The series of a day are listed in
-- s3://TARGET-BUCKET/index/.../timeseries.txt, beside the manifest.
CREATE EXTERNAL TABLE IF NOT EXISTS sitewise_consolidated (
  seriesid      string,
  timeinseconds bigint,
  offsetinnanos bigint,
  quality       string,
  doublevalue   double,
  stringvalue   string,
  integervalue  int,
  booleanvalue  boolean,
  jsonvalue     string,
  recordversion bigint
)
PARTITIONED BY (startyear int, startmonth int, startday int)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'
STORED AS
  INPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat'
LOCATION 's3://TARGET-BUCKET/consolidated/'
TBLPROPERTIES (
  'avro.schema.literal' = '{"type":"record","name":"RawDatum","namespace":"amazon.aws.iot.sitewise.raw","fields":[{"name":"seriesId","type":"string"},{"name":"timeInSeconds","type":"long"},{"name":"offsetInNanos","type":"long"},{"name":"quality","type":"string"},{"name":"doubleValue","type":["null","double"],"default":null},{"name":"stringValue","type":["null","string"],"default":null},{"name":"integerValue","type":["null","int"],"default":null},{"name":"booleanValue","type":["null","boolean"],"default":null},{"name":"jsonValue","type":["null","string"],"default":null},{"name":"recordVersion","type":["null","long"],"default":null}]}',
  'projection.enabled' = 'true',
  'projection.startyear.type' = 'integer',
  'projection.startyear.range' = '2020,2040',
  'projection.startmonth.type' = 'integer',
  'projection.startmonth.range' = '1,12',
  'projection.startday.type' = 'integer',
  'projection.startday.range' = '1,31',
  'storage.location.template' = 's3://TARGET-BUCKET/consolidated/startYear=${startyear}/startMonth=${startmonth}/startDay=${startday}/'
);

-- Example: one series over a week of May 2022.
-- SELECT from_unixtime(timeinseconds) AS t, doublevalue, quality
-- FROM sitewise_consolidated
-- WHERE startyear = 2022 AND startmonth = 5 AND startday BETWEEN 1 AND 7
--   AND seriesid = '7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a'
-- ORDER BY t;
