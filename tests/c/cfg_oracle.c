/*
 * cfg_oracle: the C libcfg driven by a line script, printing one JSON object
 * per call.  pyquorum's tests run the same script against a real corosync and
 * against pyquorum's fake cfg service and compare (tests/oracles/README.md
 * documents every line this prints).
 *
 *   cfg_oracle script      commands on stdin, one per line:
 *       init | local_get | node_addrs NODEID | finalize
 *
 * node_addrs prints the addresses as corosync-quorumtool reads them: up to 8
 * (INTERFACE_MAX), each as text, "" for a field libcfg marks unused (family 0).
 * On an error only the error is printed: libcfg's num_addrs is then whatever
 * the daemon left in its buffer.
 * A malformed or unknown line ends the script with exit status 2.
 */
#include <corosync/cfg.h>
#include <arpa/inet.h>
#include <limits.h>

#define ORACLE_NAME "cfg_oracle"
#include "oracle_common.h"

#define MAX_ADDRS 8

static corosync_cfg_handle_t handle;

static void do_node_addrs(unsigned int nodeid)
{
	corosync_cfg_node_address_t addrs[MAX_ADDRS];
	int num = 0;
	memset(addrs, 0, sizeof addrs);
	cs_error_t rc = corosync_cfg_get_node_addrs(handle, nodeid, MAX_ADDRS, &num, addrs);
	printf("{\"call\": \"node_addrs\", \"nodeid\": %u, \"rc\": %d", nodeid, rc);
	if (rc == CS_OK) {
		printf(", \"num_addrs\": %d, \"addrs\": [", num);
		for (int i = 0; i < num && i < MAX_ADDRS; i++) {
			struct sockaddr_storage *ss = (struct sockaddr_storage *)addrs[i].address;
			char text[INET6_ADDRSTRLEN] = "";
			if (ss->ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, text, sizeof text);
			else if (ss->ss_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, text,
					  sizeof text);
			printf("%s\"%s\"", i ? ", " : "", text);
		}
		printf("]");
	}
	printf("}\n");
}

static int run_script(void)
{
	char line[256], copy[256], *tok[MAX_TOKENS];
	uint64_t nodeid;
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
		if (strcmp(cmd, "init") == 0 && n == 1) {
			rc = corosync_cfg_initialize(&handle, NULL);
			printf("{\"call\": \"init\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "local_get") == 0 && n == 1) {
			unsigned int local = 0;
			rc = corosync_cfg_local_get(handle, &local);
			printf("{\"call\": \"local_get\", \"rc\": %d", rc);
			if (rc == CS_OK)
				printf(", \"nodeid\": %u", local);
			printf("}\n");
		} else if (strcmp(cmd, "node_addrs") == 0 && n == 2 &&
			   parse_u64(tok[1], UINT_MAX, &nodeid)) {
			do_node_addrs((unsigned int)nodeid);
		} else if (strcmp(cmd, "finalize") == 0 && n == 1) {
			rc = corosync_cfg_finalize(handle);
			printf("{\"call\": \"finalize\", \"rc\": %d}\n", rc);
		} else {
			return bad_line(copy);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "script") == 0)
		return run_script();
	fprintf(stderr, "usage: cfg_oracle script\n");
	return 2;
}
