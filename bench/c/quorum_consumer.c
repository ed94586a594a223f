/*
 * quorum_consumer: the C libquorum as the reference for bench/bench_resources.py.
 *
 *   quorum_consumer flood N        trackstart(CHANGES_ONLY), then poll the fd and
 *                                  dispatch(ALL) until N notifications arrived;
 *                                  checks that they alternate nodelist/quorum with
 *                                  ring seq 4 higher per pair (nothing lost, in order)
 *   quorum_consumer fds N          N sessions open at once: fds they hold
 *   quorum_consumer idle N SECONDS N tracking sessions polled for SECONDS: CPU used
 *
 * Prints one JSON object.
 */
#include <corosync/quorum.h>
#include <dirent.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static long seen, wanted, errors;
static uint64_t base_seq;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS now, in KiB. */
static long rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

/* Event k (from 0) belongs to pair k/2: nodelist first, then quorum, seq base + 4*(k/2). */
static void check(int is_quorum, uint64_t seq)
{
	if (seen == 0)
		base_seq = seq;
	if (is_quorum != (int)(seen % 2) || seq != base_seq + 4 * (uint64_t)(seen / 2))
		errors++;
	seen++;
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring_id,
		      uint32_t n, const uint32_t *members)
{
	(void)h; (void)quorate; (void)n; (void)members;
	check(1, ring_id.seq);
}

static void on_nodelist(quorum_handle_t h, struct quorum_ring_id ring_id, uint32_t m,
			const uint32_t *members, uint32_t j, const uint32_t *joined, uint32_t l,
			const uint32_t *left)
{
	(void)h; (void)m; (void)members; (void)j; (void)joined; (void)l; (void)left;
	check(0, ring_id.seq);
}

static int init(quorum_handle_t *h)
{
	uint32_t type;
	quorum_model_v1_data_t data = { .model = QUORUM_MODEL_V1,
					.quorum_notify_fn = on_quorum,
					.nodelist_notify_fn = on_nodelist };
	return quorum_model_initialize(h, QUORUM_MODEL_V1, (quorum_model_data_t *)&data, &type,
				       NULL) == CS_OK ? 0 : -1;
}

static int flood(long n)
{
	quorum_handle_t h;
	int fd;
	wanted = n;
	if (init(&h) || quorum_fd_get(h, &fd) != CS_OK)
		return 1;
	long rss0 = 0;
	double t0 = now(), c0 = cpu();
	if (quorum_trackstart(h, CS_TRACK_CHANGES_ONLY) != CS_OK)
		return 1;
	while (seen < wanted) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10000) <= 0)
			break; /* nothing for 10 s: lost events */
		if (quorum_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
			break;
		if (!rss0 && seen >= 10000)
			rss0 = rss_kib();
	}
	double t = now() - t0, c = cpu() - c0;
	quorum_finalize(h);
	printf("{\"events\": %ld, \"errors\": %ld, \"seconds\": %.6f, \"cpu\": %.6f, "
	       "\"rss_early_kib\": %ld, \"rss_end_kib\": %ld}\n",
	       seen, errors, t, c, rss0, rss_kib());
	return seen == wanted && errors == 0 ? 0 : 1;
}

static int fds(long n, double idle_seconds)
{
	quorum_handle_t *h = calloc((size_t)n, sizeof *h);
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	if (!h || !p)
		return 1;
	int before = open_fds();
	for (long i = 0; i < n; i++) {
		if (init(&h[i]))
			return 1;
		quorum_fd_get(h[i], &p[i].fd);
		p[i].events = POLLIN;
	}
	int after = open_fds();
	double used = 0;
	if (idle_seconds > 0) {
		for (long i = 0; i < n; i++)
			if (quorum_trackstart(h[i], CS_TRACK_CHANGES_ONLY) != CS_OK)
				return 1;
		double end = now() + idle_seconds, c0 = cpu();
		for (double left; (left = end - now()) > 0;)
			poll(p, (nfds_t)n, (int)(left * 1000) + 1);
		used = cpu() - c0;
	}
	for (long i = 0; i < n; i++)
		quorum_finalize(h[i]);
	printf("{\"sessions\": %ld, \"fds\": %d, \"cpu\": %.6f}\n", n, after - before, used);
	free(h);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return flood(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "fds") == 0)
		return fds(atol(argv[2]), 0);
	if (argc == 4 && strcmp(argv[1], "idle") == 0)
		return fds(atol(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: quorum_consumer flood N | fds N | idle N SECONDS\n");
	return 2;
}
