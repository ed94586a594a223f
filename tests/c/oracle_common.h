/*
 * oracle_common.h: what every C oracle in tests/c/ does the same way: read and
 * split script lines, parse numbers, report a bad line, print JSON strings,
 * and the watch mode's poll-and-dispatch loop.  Each oracle is one C file that
 * defines ORACLE_NAME (its program name, for messages) before including this.
 * tests/oracle.py rebuilds an oracle when this header changes too.
 */
#ifndef ORACLE_COMMON_H
#define ORACLE_COMMON_H

#include <corosync/corotypes.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ORACLE_NAME
#error "define ORACLE_NAME before including oracle_common.h"
#endif

#ifndef MAX_TOKENS
#define MAX_TOKENS 8
#endif

#define ORACLE_UNUSED __attribute__((unused))

static ORACLE_UNUSED double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Report a malformed or unknown script line (or bad arguments): exit status 2. */
static ORACLE_UNUSED int bad_line(const char *line)
{
	fprintf(stderr, ORACLE_NAME ": bad command: %s\n", line);
	return 2;
}

/*
 * The next script line from stdin into line (without its newline), and a copy
 * of it into copy (same size) for messages.  1 on a line, 0 at the end, -1 for
 * a line longer than the buffer.
 */
static ORACLE_UNUSED int read_line(char *line, char *copy, size_t size)
{
	if (!fgets(line, (int)size, stdin))
		return 0;
	if (!strchr(line, '\n') && !feof(stdin))
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	memcpy(copy, line, strlen(line) + 1);
	return 1;
}

/* Split line in place on blanks; returns the token count, or -1 if too many. */
static ORACLE_UNUSED int tokenize(char *line, char **tok)
{
	int n = 0;
	for (char *p = strtok(line, " \t"); p; p = strtok(NULL, " \t")) {
		if (n == MAX_TOKENS)
			return -1;
		tok[n++] = p;
	}
	return n;
}

/* A whole-token unsigned number (decimal or 0x hex) no larger than max. */
static ORACLE_UNUSED int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s == '-' || *s == '\0')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v > max)
		return 0;
	*out = v;
	return 1;
}

/* n bytes as a JSON string: '"' and '\\' escaped, other bytes outside 0x20-0x7e as \u00XX. */
static ORACLE_UNUSED void print_json_bytes(const unsigned char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A C string of at most n bytes (a fixed-size field) as a JSON string. */
static ORACLE_UNUSED void print_json_string(const char *s, size_t n)
{
	print_json_bytes((const unsigned char *)s, strnlen(s, n));
}

/* Every corosync client library's dispatch call; their handles are all uint64_t. */
typedef cs_error_t (*dispatch_fn)(uint64_t handle, cs_dispatch_flags_t flags);

/*
 * The watch modes' loop: until count callbacks were delivered or timeout_ms
 * passed, wait for fd and dispatch one callback (CS_DISPATCH_ONE_NONBLOCKING
 * delivers at most one).  A dispatch error other than CS_ERR_TRY_AGAIN is
 * printed and ends the loop.
 */
static ORACLE_UNUSED void watch_loop(dispatch_fn dispatch, uint64_t handle, int fd,
				     uint64_t count, uint64_t timeout_ms)
{
	double end = now() + timeout_ms / 1000.0;
	uint64_t seen = 0;
	while (seen < count && now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now()) * 1000);
		if (poll(&p, 1, left > 0 ? left : 0) <= 0)
			continue;
		cs_error_t rc = dispatch(handle, CS_DISPATCH_ONE_NONBLOCKING);
		if (rc == CS_OK)
			seen++;
		else if (rc != CS_ERR_TRY_AGAIN) {
			printf("{\"call\": \"dispatch\", \"rc\": %d}\n", rc);
			break;
		}
	}
}

#endif
