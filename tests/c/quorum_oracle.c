/*
 * quorum_oracle: the C libquorum driven by a tiny line script, printing one
 * JSON object per result or callback.  pyquorum's tests run the same script
 * through pyquorum.libquorum and compare the two outputs (differential tests),
 * and the benchmarks use its "bench" and "cycles" modes.
 *
 *   quorum_oracle script            commands on stdin, one per line:
 *       init0 | init v0 | init v1 | getquorate | trackstart FLAGS | trackstop
 *       dispatch FLAGS | wait MS | fd | context_set N | context_get | finalize
 *   quorum_oracle watch v0|v1 FLAGS COUNT TIMEOUT_MS
 *   quorum_oracle bench N           N quorum_getquorate round trips
 *   quorum_oracle cycles N          N quorum_model_initialize + quorum_finalize
 *
 * Event lines use the same JSON as `pyquorum watch --json`.
 */
#include <corosync/quorum.h>

#define ORACLE_NAME "quorum_oracle"
#include "oracle_common.h"

static quorum_handle_t handle;
static uintptr_t context_value;

static void print_list(const char *name, uint32_t n, const uint32_t *list)
{
	printf("\"%s\": [", name);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%" PRIu32, i ? ", " : "", list[i]);
	printf("]");
}

static void print_context(quorum_handle_t h)
{
	const void *ctx = NULL;
	quorum_context_get(h, &ctx);
	if (ctx)
		printf(", \"context\": %" PRIuPTR, (uintptr_t)ctx);
}

static void v0_notify(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq,
		      uint32_t n, uint32_t *view_list)
{
	printf("{\"type\": \"quorum_v0\", \"quorate\": %s, \"ring_seq\": %" PRIu64 ", ",
	       quorate ? "true" : "false", ring_seq);
	print_list("members", n, view_list);
	print_context(h);
	printf("}\n");
	fflush(stdout);
}

static void v1_quorum_notify(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring_id,
			     uint32_t n, const uint32_t *members)
{
	printf("{\"type\": \"quorum\", \"quorate\": %s, \"ring_id\": {\"nodeid\": %" PRIu32
	       ", \"seq\": %" PRIu64 "}, ", quorate ? "true" : "false", ring_id.nodeid, ring_id.seq);
	print_list("members", n, members);
	print_context(h);
	printf("}\n");
	fflush(stdout);
}

static void v1_nodelist_notify(quorum_handle_t h, struct quorum_ring_id ring_id,
			       uint32_t m, const uint32_t *members,
			       uint32_t j, const uint32_t *joined,
			       uint32_t l, const uint32_t *left)
{
	printf("{\"type\": \"nodelist\", \"ring_id\": {\"nodeid\": %" PRIu32 ", \"seq\": %" PRIu64
	       "}, ", ring_id.nodeid, ring_id.seq);
	print_list("members", m, members);
	printf(", ");
	print_list("joined", j, joined);
	printf(", ");
	print_list("left", l, left);
	print_context(h);
	printf("}\n");
	fflush(stdout);
}

static quorum_model_t parse_model(const char *s)
{
	return strcmp(s, "v0") == 0 ? QUORUM_MODEL_V0 : QUORUM_MODEL_V1;
}

static cs_error_t init_model(quorum_model_t model, uint32_t *type)
{
	if (model == QUORUM_MODEL_V0) {
		quorum_model_v0_data_t data = { .model = QUORUM_MODEL_V0,
						.quorum_notify_fn = v0_notify };
		return quorum_model_initialize(&handle, model, (quorum_model_data_t *)&data, type,
					       (void *)context_value);
	}
	quorum_model_v1_data_t data = { .model = QUORUM_MODEL_V1,
					.quorum_notify_fn = v1_quorum_notify,
					.nodelist_notify_fn = v1_nodelist_notify };
	return quorum_model_initialize(&handle, model, (quorum_model_data_t *)&data, type,
				       (void *)context_value);
}

static int run_script(void)
{
	char line[256], arg[64];
	unsigned long n;
	uint32_t type = 0;
	cs_error_t rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strcmp(line, "init0") == 0) {
			quorum_callbacks_t cb = { .quorum_notify_fn = v0_notify };
			rc = quorum_initialize(&handle, &cb, &type);
			printf("{\"call\": \"init0\", \"rc\": %d, \"quorum_type\": %" PRIu32 "}\n", rc, type);
		} else if (sscanf(line, "init %63s", arg) == 1) {
			rc = init_model(parse_model(arg), &type);
			printf("{\"call\": \"init\", \"rc\": %d, \"quorum_type\": %" PRIu32 "}\n", rc, type);
		} else if (strcmp(line, "getquorate") == 0) {
			int q = -1;
			rc = quorum_getquorate(handle, &q);
			printf("{\"call\": \"getquorate\", \"rc\": %d, \"quorate\": %d}\n", rc, q);
		} else if (sscanf(line, "trackstart %lu", &n) == 1) {
			rc = quorum_trackstart(handle, (unsigned int)n);
			printf("{\"call\": \"trackstart\", \"rc\": %d}\n", rc);
		} else if (strcmp(line, "trackstop") == 0) {
			rc = quorum_trackstop(handle);
			printf("{\"call\": \"trackstop\", \"rc\": %d}\n", rc);
		} else if (sscanf(line, "dispatch %lu", &n) == 1) {
			rc = quorum_dispatch(handle, (cs_dispatch_flags_t)n);
			printf("{\"call\": \"dispatch\", \"rc\": %d}\n", rc);
		} else if (sscanf(line, "wait %lu", &n) == 1) {
			int fd = -1;
			quorum_fd_get(handle, &fd);
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int ready = poll(&p, 1, (int)n);
			printf("{\"call\": \"wait\", \"ready\": %d}\n", ready > 0);
		} else if (strcmp(line, "fd") == 0) {
			int fd = -1;
			rc = quorum_fd_get(handle, &fd);
			printf("{\"call\": \"fd\", \"rc\": %d, \"valid\": %s}\n", rc, fd >= 0 ? "true" : "false");
		} else if (sscanf(line, "context_set %lu", &n) == 1) {
			context_value = n;
			rc = quorum_context_set(handle, (const void *)n);
			printf("{\"call\": \"context_set\", \"rc\": %d}\n", rc);
		} else if (strcmp(line, "context_get") == 0) {
			const void *ctx = NULL;
			rc = quorum_context_get(handle, &ctx);
			printf("{\"call\": \"context_get\", \"rc\": %d, \"context\": %" PRIuPTR "}\n", rc,
			       (uintptr_t)ctx);
		} else if (strcmp(line, "finalize") == 0) {
			rc = quorum_finalize(handle);
			printf("{\"call\": \"finalize\", \"rc\": %d}\n", rc);
		} else {
			fprintf(stderr, "quorum_oracle: unknown command: %s\n", line);
			return 2;
		}
	}
	return 0;
}

static int run_watch(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	uint32_t type = 0;
	int fd = -1, count = atoi(argv[4]), timeout_ms = atoi(argv[5]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cs_error_t rc = init_model(parse_model(argv[2]), &type);
	printf("{\"call\": \"init\", \"rc\": %d, \"quorum_type\": %" PRIu32 "}\n", rc, type);
	if (rc != CS_OK)
		return 1;
	rc = quorum_trackstart(handle, (unsigned int)strtoul(argv[3], NULL, 0));
	printf("{\"call\": \"trackstart\", \"rc\": %d}\n", rc);
	quorum_fd_get(handle, &fd);
	/* Each callback prints one line. */
	watch_loop(quorum_dispatch, handle, fd, count > 0 ? (uint64_t)count : 0,
		   timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	quorum_finalize(handle);
	return 0;
}

static int run_bench(const char *what, long n)
{
	uint32_t type;
	double t0;
	if (strcmp(what, "cycles") == 0) {
		t0 = now();
		for (long i = 0; i < n; i++) {
			if (init_model(QUORUM_MODEL_V1, &type) != CS_OK)
				return 1;
			quorum_finalize(handle);
		}
	} else {
		if (init_model(QUORUM_MODEL_V1, &type) != CS_OK)
			return 1;
		int q;
		t0 = now();
		for (long i = 0; i < n; i++)
			if (quorum_getquorate(handle, &q) != CS_OK)
				return 1;
		quorum_finalize(handle);
	}
	printf("{\"mode\": \"%s\", \"n\": %ld, \"seconds\": %.6f}\n", what, n, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "script") == 0)
		return run_script();
	if (argc >= 2 && strcmp(argv[1], "watch") == 0)
		return run_watch(argc, argv);
	if (argc == 3 && (strcmp(argv[1], "bench") == 0 || strcmp(argv[1], "cycles") == 0))
		return run_bench(argv[1], atol(argv[2]));
	fprintf(stderr, "usage: quorum_oracle script | watch v0|v1 FLAGS COUNT TIMEOUT_MS | "
			"bench N | cycles N\n");
	return 2;
}
