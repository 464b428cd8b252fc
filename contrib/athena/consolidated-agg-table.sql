-- consolidated-agg-table.sql - an Athena table over the aggregates that
-- `swrepart sync --dataset agg` (or all) publishes: one Avro object per day
-- under
--   s3://TARGET-BUCKET/consolidated_agg/startYear=Y/startMonth=M/startDay=D/
-- (no zero padding), beside consolidated-table.sql's raw days.  Partition
-- projection as there.  Replace TARGET-BUCKET (and the prefix, if
-- s3.repartitioned.agg_data_prefix is not consolidated_agg/), and widen
-- the year range to cover your data.  The record name AggDatum is
-- swrepart's (see README.md, "Aggregates"); the columns are the cold
-- tier's.  `resolution` is the interval as ISO 8601 (PT1M, PT1H, ...):
-- filter on it, or a query adds minutes and hours together.
CREATE EXTERNAL TABLE IF NOT EXISTS sitewise_consolidated_agg (
  seriesid      string,
  timeinseconds bigint,
  offsetinnanos bigint,
  quality       string,
  resolution    string,
  count         double,
  average       double,
  min           double,
  max           double,
  sum           double,
  recordversion bigint
)
PARTITIONED BY (startyear int, startmonth int, startday int)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'
STORED AS
  INPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat'
LOCATION 's3://TARGET-BUCKET/consolidated_agg/'
TBLPROPERTIES (
  'avro.schema.literal' = '{"type":"record","name":"AggDatum","namespace":"amazon.aws.iot.sitewise.agg","fields":[{"name":"seriesId","type":"string"},{"name":"timeInSeconds","type":"long"},{"name":"offsetInNanos","type":"long"},{"name":"quality","type":"string"},{"name":"resolution","type":"string"},{"name":"count","type":["null","double"],"default":null},{"name":"average","type":["null","double"],"default":null},{"name":"min","type":["null","double"],"default":null},{"name":"max","type":["null","double"],"default":null},{"name":"sum","type":["null","double"],"default":null},{"name":"recordVersion","type":["null","long"],"default":null}]}',
  'projection.enabled' = 'true',
  'projection.startyear.type' = 'integer',
  'projection.startyear.range' = '2020,2040',
  'projection.startmonth.type' = 'integer',
  'projection.startmonth.range' = '1,12',
  'projection.startday.type' = 'integer',
  'projection.startday.range' = '1,31',
  'storage.location.template' = 's3://TARGET-BUCKET/consolidated_agg/startYear=${startyear}/startMonth=${startmonth}/startDay=${startday}/'
);

-- Example: hourly averages of one series over a week of May 2022.
-- SELECT from_unixtime(timeinseconds) AS hour, average, min, max, count
-- FROM sitewise_consolidated_agg
-- WHERE startyear = 2022 AND startmonth = 5 AND startday BETWEEN 1 AND 7
--   AND resolution = 'PT1H'
--   AND seriesid = '7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a'
-- ORDER BY hour;
