/*
 * merge_only.c - the day engine's merge step alone, for bench/materialize.sh.
 *
 * Reads a list of Avro container files (one path per line, from a file or
 * "-" for stdin) and merges them, in that order, into one output with
 * swrepart's own merge (src/avro_merge.c, linked from libswrepart.a): the
 * same calls engine_day() makes (merge_new, merge_add_file per input,
 * merge_finish), but no listing, no fetch into staging, no fsync, no
 * series index and no sqlite.  Inputs are opened by path as given.
 *
 *   merge_only LIST OUTPUT      OUTPUT: a file (created, truncated) or
 *                               /dev/null (nothing kept)
 *   merge_only --read LIST      only read the inputs (open, read into one
 *                               128 KiB buffer allocated once, close): the
 *                               floor of any tool that reads these files,
 *                               without cat's per-file buffer (see
 *                               bench/README.md)
 *
 * Prints one line on stdout: files, records, bytes read, bytes written,
 * blocks copied raw / recompressed, records re-encoded.  Exit 0 on
 * success, 1 on a merge error (the message names the input), 2 on usage.
 *
 * Built by bench/materialize.sh against the in-tree libswrepart.a; not part
 * of the package.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro/merge.h"
#include "avro/ocf.h"
#include "base/err.h"

static int
read_only(FILE *list)
{
	static char buf[128 * 1024];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len, r;
	uint64_t files = 0, bytes = 0;

	while ((len = getline(&line, &cap, list)) > 0) {
		int fd;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((fd = open(line, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "merge_only: %s: %s\n", line,
			    strerror(errno));
			return 1;
		}
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			bytes += (uint64_t)r;
		if (r < 0) {
			fprintf(stderr, "merge_only: %s: %s\n", line,
			    strerror(errno));
			return 1;
		}
		close(fd);
		files++;
	}
	free(line);
	printf("files=%" PRIu64 " bytes_in=%" PRIu64 "\n", files, bytes);
	return 0;
}

int
main(int argc, char **argv)
{
	FILE *list;
	struct merge *m = NULL;
	struct merge_stats st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int outfd;
	sw_err rc;

	if (argc != 3) {
		fprintf(stderr, "usage: merge_only LIST OUTPUT\n"
		    "       merge_only --read LIST\n");
		return 2;
	}
	if (strcmp(argv[1], "--read") == 0) {
		list = strcmp(argv[2], "-") == 0 ? stdin : fopen(argv[2], "r");
		if (list == NULL) {
			fprintf(stderr, "merge_only: %s: %s\n", argv[2],
			    strerror(errno));
			return 2;
		}
		return read_only(list);
	}
	list = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
	if (list == NULL) {
		fprintf(stderr, "merge_only: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	outfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (outfd < 0) {
		fprintf(stderr, "merge_only: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	rc = merge_new(ocf_sink_fd, &outfd, NULL, &m);
	while (rc == SW_OK && (len = getline(&line, &cap, list)) > 0) {
		int fd;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((fd = open(line, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "merge_only: %s: %s\n", line,
			    strerror(errno));
			rc = SW_ERR_IO;
			break;
		}
		rc = merge_add_file(m, fd, line, NULL);
		close(fd);
	}
	if (rc == SW_OK)
		rc = merge_finish(m);
	if (rc != SW_OK) {
		fprintf(stderr, "merge_only: %s\n", sw_errmsg());
		merge_free(m);
		return 1;
	}
	merge_stats(m, &st);
	printf("files=%" PRIu64 " records=%" PRIu64 " bytes_in=%" PRIu64
	    " bytes_out=%" PRIu64 " blocks_raw=%" PRIu64
	    " blocks_recompressed=%" PRIu64 " records_resolved=%" PRIu64 "\n",
	    st.files, st.records, st.bytes_in, st.bytes_out, st.blocks_raw,
	    st.blocks_recompressed, st.records_resolved);
	merge_free(m);
	free(line);
	if (list != stdin)
		fclose(list);
	if (close(outfd) < 0) {
		fprintf(stderr, "merge_only: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
