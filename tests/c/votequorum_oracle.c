/*
 * votequorum_oracle: the C libvotequorum driven by a line script, printing one
 * JSON object per call result or callback.  pyquorum's tests run the same
 * calls through pyquorum and compare (tests/oracles/README.md documents
 * every line this prints).
 *
 *   votequorum_oracle script      commands on stdin, one per line:
 *       init [CALLBACKS] | getinfo NODEID | setexpected N | setvotes NODEID VOTES
 *       trackstart CONTEXT FLAGS | trackstop | dispatch MODE | wait MS | fd
 *       context_set N | context_get | finalize
 *     CALLBACKS is "all" (default), "none" or a comma list of
 *     quorum,nodelist,expected: the callbacks handed to votequorum_initialize.
 *   votequorum_oracle watch CONTEXT FLAGS COUNT TIMEOUT_MS
 *     init + trackstart, then COUNT callbacks or TIMEOUT_MS, then finalize.
 *
 * A malformed or unknown line ends the script with exit status 2.
 */
#include <corosync/votequorum.h>
#include <limits.h>

#define ORACLE_NAME "votequorum_oracle"
#include "oracle_common.h"

static votequorum_handle_t handle;

static void quorum_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate,
			  uint32_t n, votequorum_node_t nodes[])
{
	(void)h;
	printf("{\"type\": \"votequorum_quorum\", \"context\": %" PRIu64 ", \"quorate\": %s, "
	       "\"nodes\": [", context, quorate ? "true" : "false");
	for (uint32_t i = 0; i < n; i++)
		printf("%s{\"nodeid\": %" PRIu32 ", \"state\": %" PRIu32 "}", i ? ", " : "",
		       nodes[i].nodeid, nodes[i].state);
	printf("]}\n");
	fflush(stdout);
}

static void nodelist_notify(votequorum_handle_t h, uint64_t context, votequorum_ring_id_t ring_id,
			    uint32_t n, uint32_t members[])
{
	(void)h;
	printf("{\"type\": \"votequorum_nodelist\", \"context\": %" PRIu64 ", \"ring_id\": "
	       "{\"nodeid\": %" PRIu32 ", \"seq\": %" PRIu64 "}, \"members\": [",
	       context, ring_id.nodeid, ring_id.seq);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%" PRIu32, i ? ", " : "", members[i]);
	printf("]}\n");
	fflush(stdout);
}

static void expected_notify(votequorum_handle_t h, uint64_t context, uint32_t expected_votes)
{
	(void)h;
	printf("{\"type\": \"expected_votes\", \"context\": %" PRIu64 ", \"expected_votes\": %" PRIu32
	       "}\n", context, expected_votes);
	fflush(stdout);
}

static int parse_callbacks(const char *spec, votequorum_callbacks_t *cb)
{
	memset(cb, 0, sizeof *cb);
	if (strcmp(spec, "none") == 0)
		return 1;
	if (strcmp(spec, "all") == 0) {
		cb->votequorum_quorum_notify_fn = quorum_notify;
		cb->votequorum_nodelist_notify_fn = nodelist_notify;
		cb->votequorum_expectedvotes_notify_fn = expected_notify;
		return 1;
	}
	char buf[64];
	if (strlen(spec) >= sizeof buf)
		return 0;
	strcpy(buf, spec);
	for (char *p = strtok(buf, ","); p; p = strtok(NULL, ",")) {
		if (strcmp(p, "quorum") == 0)
			cb->votequorum_quorum_notify_fn = quorum_notify;
		else if (strcmp(p, "nodelist") == 0)
			cb->votequorum_nodelist_notify_fn = nodelist_notify;
		else if (strcmp(p, "expected") == 0)
			cb->votequorum_expectedvotes_notify_fn = expected_notify;
		else
			return 0;
	}
	return 1;
}

static void do_getinfo(unsigned int nodeid)
{
	/*
	 * On an error reply corosync leaves the reply's fields uninitialized and
	 * libvotequorum still copies them, strcpy'ing qdevice_name: the spare
	 * room after info absorbs an unterminated name, and nothing but rc is
	 * printed then.
	 */
	struct {
		struct votequorum_info info;
		char spare[4096];
	} out;
	memset(&out, 0, sizeof out);
	cs_error_t rc = votequorum_getinfo(handle, nodeid, &out.info);
	printf("{\"call\": \"getinfo\", \"rc\": %d", rc);
	if (rc == CS_OK) {
		struct votequorum_info *i = &out.info;
		printf(", \"node_id\": %u, \"node_state\": %u, \"node_votes\": %u, "
		       "\"node_expected_votes\": %u, \"highest_expected\": %u, \"total_votes\": %u, "
		       "\"quorum\": %u, \"flags\": %u, \"qdevice_votes\": %u, \"qdevice_name\": ",
		       i->node_id, i->node_state, i->node_votes, i->node_expected_votes,
		       i->highest_expected, i->total_votes, i->quorum, i->flags, i->qdevice_votes);
		print_json_string(i->qdevice_name, VOTEQUORUM_QDEVICE_MAX_NAME_LEN);
	}
	printf("}\n");
}

static int run_script(void)
{
	char line[512], copy[512], *tok[MAX_TOKENS];
	uint64_t a, b;
	cs_error_t rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int got; (got = read_line(line, copy, sizeof line)) != 0;) {
		if (got < 0)
			return bad_line("(line too long)");
		int n = tokenize(line, tok);
		if (n == 0 || (n > 0 && tok[0][0] == '#'))
			continue;
		if (n < 0)
			return bad_line(copy);
		const char *cmd = tok[0];
		if (strcmp(cmd, "init") == 0 && n <= 2) {
			votequorum_callbacks_t cb;
			if (!parse_callbacks(n == 2 ? tok[1] : "all", &cb))
				return bad_line(copy);
			rc = votequorum_initialize(&handle, &cb);
			printf("{\"call\": \"init\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "getinfo") == 0 && n == 2 && parse_u64(tok[1], UINT_MAX, &a)) {
			do_getinfo((unsigned int)a);
		} else if (strcmp(cmd, "setexpected") == 0 && n == 2 &&
			   parse_u64(tok[1], UINT_MAX, &a)) {
			rc = votequorum_setexpected(handle, (unsigned int)a);
			printf("{\"call\": \"setexpected\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "setvotes") == 0 && n == 3 && parse_u64(tok[1], UINT_MAX, &a) &&
			   parse_u64(tok[2], UINT_MAX, &b)) {
			rc = votequorum_setvotes(handle, (unsigned int)a, (unsigned int)b);
			printf("{\"call\": \"setvotes\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "trackstart") == 0 && n == 3 &&
			   parse_u64(tok[1], UINT64_MAX, &a) && parse_u64(tok[2], UINT_MAX, &b)) {
			rc = votequorum_trackstart(handle, a, (unsigned int)b);
			printf("{\"call\": \"trackstart\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "trackstop") == 0 && n == 1) {
			rc = votequorum_trackstop(handle);
			printf("{\"call\": \"trackstop\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "dispatch") == 0 && n == 2 && parse_u64(tok[1], INT_MAX, &a)) {
			rc = votequorum_dispatch(handle, (cs_dispatch_flags_t)a);
			printf("{\"call\": \"dispatch\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "wait") == 0 && n == 2 && parse_u64(tok[1], INT_MAX, &a)) {
			int fd = -1;
			votequorum_fd_get(handle, &fd);
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int ready = poll(&p, 1, (int)a);
			printf("{\"call\": \"wait\", \"ready\": %s}\n", ready > 0 ? "true" : "false");
		} else if (strcmp(cmd, "fd") == 0 && n == 1) {
			int fd = -1;
			rc = votequorum_fd_get(handle, &fd);
			printf("{\"call\": \"fd\", \"rc\": %d, \"valid\": %s}\n", rc,
			       rc == CS_OK && fd >= 0 ? "true" : "false");
		} else if (strcmp(cmd, "context_set") == 0 && n == 2 &&
			   parse_u64(tok[1], UINTPTR_MAX, &a)) {
			rc = votequorum_context_set(handle, (void *)(uintptr_t)a);
			printf("{\"call\": \"context_set\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "context_get") == 0 && n == 1) {
			void *ctx = NULL;
			rc = votequorum_context_get(handle, &ctx);
			printf("{\"call\": \"context_get\", \"rc\": %d", rc);
			if (rc == CS_OK)
				printf(", \"context\": %" PRIuPTR, (uintptr_t)ctx);
			printf("}\n");
		} else if (strcmp(cmd, "finalize") == 0 && n == 1) {
			rc = votequorum_finalize(handle);
			printf("{\"call\": \"finalize\", \"rc\": %d}\n", rc);
		} else {
			return bad_line(copy);
		}
	}
	return 0;
}

static int run_watch(int argc, char **argv)
{
	uint64_t context, flags, count, timeout_ms;
	if (argc != 6 || !parse_u64(argv[2], UINT64_MAX, &context) ||
	    !parse_u64(argv[3], UINT_MAX, &flags) || !parse_u64(argv[4], INT_MAX, &count) ||
	    !parse_u64(argv[5], INT_MAX, &timeout_ms))
		return bad_line("watch arguments");
	votequorum_callbacks_t cb;
	parse_callbacks("all", &cb);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cs_error_t rc = votequorum_initialize(&handle, &cb);
	printf("{\"call\": \"init\", \"rc\": %d}\n", rc);
	if (rc != CS_OK)
		return 1;
	rc = votequorum_trackstart(handle, context, (unsigned int)flags);
	printf("{\"call\": \"trackstart\", \"rc\": %d}\n", rc);
	int fd = -1;
	votequorum_fd_get(handle, &fd);
	watch_loop(votequorum_dispatch, handle, fd, count, timeout_ms);
	votequorum_finalize(handle);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "script") == 0)
		return run_script();
	if (argc >= 2 && strcmp(argv[1], "watch") == 0)
		return run_watch(argc, argv);
	fprintf(stderr, "usage: votequorum_oracle script | watch CONTEXT FLAGS COUNT TIMEOUT_MS\n");
	return 2;
}
