/*
 * cmap_oracle: the C libcmap driven by a line script, printing one JSON object
 * per call result or callback.  pyquorum's tests run the same calls through
 * pyquorum and compare (tests/oracles/README.md documents every line).
 *
 *   cmap_oracle script            commands on stdin, one per line:
 *       init | initialize_map stats|icmap|N | finalize | fd | wait MS
 *       context_set N | context_get | dispatch MODE
 *       get KEY | get_len KEY | get_small KEY N | get_TYPE KEY
 *       set KEY TYPE VALUE | set_raw KEY TYPEID HEX | delete KEY | inc KEY | dec KEY
 *       iter [PREFIX] | track_add KEY TRACKTYPE [USERDATA] | track_delete INDEX
 *     TYPE: i8 u8 i16 u16 i32 u32 i64 u64 flt dbl str bin (bin VALUE in hex,
 *     may be absent for an empty value; str VALUE is the rest of the line;
 *     get_TYPE exists for all but bin; set_raw sends TYPEID and HEX unchecked).
 *   cmap_oracle watch KEY TRACKTYPE COUNT TIMEOUT_MS
 *     init + track_add (user data 0), then COUNT notifications or TIMEOUT_MS.
 *
 * A malformed or unknown line ends the script with exit status 2.
 */
#include <corosync/cmap.h>
#include <limits.h>
#include <math.h>

#define ORACLE_NAME "cmap_oracle"
#include "oracle_common.h"

#define GET_BUFFER 16384
#define MAX_TRACKS 64

static cmap_handle_t handle;
static cmap_track_handle_t tracks[MAX_TRACKS];
static int track_count;

static const char *const type_names[] = {
	[CMAP_VALUETYPE_INT8] = "i8",	  [CMAP_VALUETYPE_UINT8] = "u8",
	[CMAP_VALUETYPE_INT16] = "i16",	  [CMAP_VALUETYPE_UINT16] = "u16",
	[CMAP_VALUETYPE_INT32] = "i32",	  [CMAP_VALUETYPE_UINT32] = "u32",
	[CMAP_VALUETYPE_INT64] = "i64",	  [CMAP_VALUETYPE_UINT64] = "u64",
	[CMAP_VALUETYPE_FLOAT] = "flt",	  [CMAP_VALUETYPE_DOUBLE] = "dbl",
	[CMAP_VALUETYPE_STRING] = "str",  [CMAP_VALUETYPE_BINARY] = "bin",
};

static const char *type_name(int type)
{
	if (type >= CMAP_VALUETYPE_INT8 && type <= CMAP_VALUETYPE_BINARY)
		return type_names[type];
	return "unknown";
}

static int type_by_name(const char *name)
{
	for (int t = CMAP_VALUETYPE_INT8; t <= CMAP_VALUETYPE_BINARY; t++)
		if (strcmp(type_names[t], name) == 0)
			return t;
	return 0;
}

static void print_hex(const unsigned char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('"');
}

static void print_double(double d)
{
	if (isnan(d))
		printf("NaN");
	else if (isinf(d))
		printf(d > 0 ? "Infinity" : "-Infinity");
	else
		printf("%.17g", d);
}

/*
 * ", \"value\": ..." for a value of this type and length; nothing when the
 * length does not fit the type (the daemon stores whatever length it is given).
 */
static void print_value(int type, const void *data, size_t len)
{
	const unsigned char *p = data;
	union {
		int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
		int64_t i64; uint64_t u64; float flt; double dbl;
	} v;
	size_t want = 0;
	switch (type) {
	case CMAP_VALUETYPE_INT8: case CMAP_VALUETYPE_UINT8: want = 1; break;
	case CMAP_VALUETYPE_INT16: case CMAP_VALUETYPE_UINT16: want = 2; break;
	case CMAP_VALUETYPE_INT32: case CMAP_VALUETYPE_UINT32: case CMAP_VALUETYPE_FLOAT: want = 4; break;
	case CMAP_VALUETYPE_INT64: case CMAP_VALUETYPE_UINT64: case CMAP_VALUETYPE_DOUBLE: want = 8; break;
	case CMAP_VALUETYPE_STRING:
		printf(", \"value\": ");
		print_json_bytes(p, strnlen((const char *)p, len));
		printf(", \"hex\": ");
		print_hex(p, len);
		return;
	case CMAP_VALUETYPE_BINARY:
		printf(", \"value\": ");
		print_hex(p, len);
		return;
	default:
		return;
	}
	if (len != want)
		return;
	memcpy(&v, p, want);
	printf(", \"value\": ");
	switch (type) {
	case CMAP_VALUETYPE_INT8: printf("%" PRId8, v.i8); break;
	case CMAP_VALUETYPE_UINT8: printf("%" PRIu8, v.u8); break;
	case CMAP_VALUETYPE_INT16: printf("%" PRId16, v.i16); break;
	case CMAP_VALUETYPE_UINT16: printf("%" PRIu16, v.u16); break;
	case CMAP_VALUETYPE_INT32: printf("%" PRId32, v.i32); break;
	case CMAP_VALUETYPE_UINT32: printf("%" PRIu32, v.u32); break;
	case CMAP_VALUETYPE_INT64: printf("%" PRId64, v.i64); break;
	case CMAP_VALUETYPE_UINT64: printf("%" PRIu64, v.u64); break;
	case CMAP_VALUETYPE_FLOAT: print_double(v.flt); break;
	case CMAP_VALUETYPE_DOUBLE: print_double(v.dbl); break;
	}
}

static void print_typed(int type, const void *data, size_t len)
{
	printf("\"type\": %d, \"type_name\": \"%s\", \"value_len\": %zu", type, type_name(type), len);
	print_value(type, data, len);
}

static int track_index(cmap_track_handle_t h)
{
	for (int i = 0; i < track_count; i++)
		if (tracks[i] == h)
			return i;
	return -1;
}

static void notify(cmap_handle_t h, cmap_track_handle_t track, int32_t event, const char *key,
		   struct cmap_notify_value new_value, struct cmap_notify_value old_value,
		   void *user_data)
{
	(void)h;
	printf("{\"type\": \"cmap_track\", \"track\": %d, \"user_data\": %" PRIuPTR
	       ", \"event\": %" PRId32 ", \"key\": ", track_index(track), (uintptr_t)user_data, event);
	print_json_bytes((const unsigned char *)key, strlen(key));
	printf(", \"new\": {");
	print_typed(new_value.type, new_value.data, new_value.len);
	printf("}, \"old\": {");
	print_typed(old_value.type, old_value.data, old_value.len);
	printf("}}\n");
	fflush(stdout);
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	if (*s == '\0')
		return 0;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

static int parse_hex(const char *s, unsigned char *out, size_t room, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > room)
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;
		if (sscanf(s + 2 * i, "%2x", &byte) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return 0;
		out[i] = (unsigned char)byte;
	}
	*len = n / 2;
	return 1;
}

/* The value of `set KEY TYPE VALUE` as bytes; 0 if VALUE does not parse. */
static int encode_value(int type, const char *text, unsigned char *out, size_t room, size_t *len)
{
	int64_t i;
	uint64_t u;
	char *end;
	switch (type) {
	case CMAP_VALUETYPE_INT8:
		if (!parse_i64(text, INT8_MIN, INT8_MAX, &i)) return 0;
		*(int8_t *)out = (int8_t)i; *len = 1; return 1;
	case CMAP_VALUETYPE_UINT8:
		if (!parse_u64(text, UINT8_MAX, &u)) return 0;
		*out = (uint8_t)u; *len = 1; return 1;
	case CMAP_VALUETYPE_INT16:
		if (!parse_i64(text, INT16_MIN, INT16_MAX, &i)) return 0;
		{ int16_t v = (int16_t)i; memcpy(out, &v, 2); } *len = 2; return 1;
	case CMAP_VALUETYPE_UINT16:
		if (!parse_u64(text, UINT16_MAX, &u)) return 0;
		{ uint16_t v = (uint16_t)u; memcpy(out, &v, 2); } *len = 2; return 1;
	case CMAP_VALUETYPE_INT32:
		if (!parse_i64(text, INT32_MIN, INT32_MAX, &i)) return 0;
		{ int32_t v = (int32_t)i; memcpy(out, &v, 4); } *len = 4; return 1;
	case CMAP_VALUETYPE_UINT32:
		if (!parse_u64(text, UINT32_MAX, &u)) return 0;
		{ uint32_t v = (uint32_t)u; memcpy(out, &v, 4); } *len = 4; return 1;
	case CMAP_VALUETYPE_INT64:
		if (!parse_i64(text, INT64_MIN, INT64_MAX, &i)) return 0;
		memcpy(out, &i, 8); *len = 8; return 1;
	case CMAP_VALUETYPE_UINT64:
		if (!parse_u64(text, UINT64_MAX, &u)) return 0;
		memcpy(out, &u, 8); *len = 8; return 1;
	case CMAP_VALUETYPE_FLOAT: {
		errno = 0;
		float f = strtof(text, &end);
		if (*text == '\0' || *end != '\0' || errno) return 0;
		memcpy(out, &f, 4); *len = 4; return 1;
	}
	case CMAP_VALUETYPE_DOUBLE: {
		errno = 0;
		double d = strtod(text, &end);
		if (*text == '\0' || *end != '\0' || errno) return 0;
		memcpy(out, &d, 8); *len = 8; return 1;
	}
	case CMAP_VALUETYPE_STRING:
		/* What cmap_set_string sends: the string and its NUL. */
		if (strlen(text) + 1 > room) return 0;
		memcpy(out, text, strlen(text) + 1); *len = strlen(text) + 1; return 1;
	case CMAP_VALUETYPE_BINARY:
		return parse_hex(text, out, room, len);
	}
	return 0;
}

static void print_key(const char *call, const char *key)
{
	printf("{\"call\": \"%s\", \"key\": ", call);
	print_json_bytes((const unsigned char *)key, strlen(key));
}

/* cmap_get into a buffer of `size` bytes (the oracle's buffer is larger still). */
static void do_get(const char *call, const char *key, size_t size)
{
	static unsigned char buf[GET_BUFFER + 64];
	size_t len = size;
	cmap_value_types_t type = 0;
	memset(buf, 0, sizeof buf);
	cs_error_t rc = cmap_get(handle, key, buf, &len, &type);
	print_key(call, key);
	printf(", \"buffer\": %zu, \"rc\": %d", size, rc);
	if (rc == CS_OK) {
		printf(", ");
		/*
		 * With a zero-sized buffer the daemon only reports the length and
		 * libcmap copies that many bytes from past its reply: no value then.
		 */
		if (size == 0)
			printf("\"type\": %d, \"type_name\": \"%s\", \"value_len\": %zu", type,
			       type_name(type), len);
		else
			print_typed(type, buf, len);
	}
	printf("}\n");
}

static void do_get_len(const char *key)
{
	size_t len = 0;
	cmap_value_types_t type = 0;
	cs_error_t rc = cmap_get(handle, key, NULL, &len, &type);
	print_key("get_len", key);
	printf(", \"rc\": %d", rc);
	if (rc == CS_OK)
		printf(", \"type\": %d, \"type_name\": \"%s\", \"value_len\": %zu", type,
		       type_name(type), len);
	printf("}\n");
}

static int do_typed_get(const char *suffix, const char *key)
{
	union {
		int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
		int64_t i64; uint64_t u64; float flt; double dbl;
	} v;
	char *str = NULL;
	cs_error_t rc;
	int type = type_by_name(suffix);
	memset(&v, 0, sizeof v);
	switch (type) {
	case CMAP_VALUETYPE_INT8: rc = cmap_get_int8(handle, key, &v.i8); break;
	case CMAP_VALUETYPE_UINT8: rc = cmap_get_uint8(handle, key, &v.u8); break;
	case CMAP_VALUETYPE_INT16: rc = cmap_get_int16(handle, key, &v.i16); break;
	case CMAP_VALUETYPE_UINT16: rc = cmap_get_uint16(handle, key, &v.u16); break;
	case CMAP_VALUETYPE_INT32: rc = cmap_get_int32(handle, key, &v.i32); break;
	case CMAP_VALUETYPE_UINT32: rc = cmap_get_uint32(handle, key, &v.u32); break;
	case CMAP_VALUETYPE_INT64: rc = cmap_get_int64(handle, key, &v.i64); break;
	case CMAP_VALUETYPE_UINT64: rc = cmap_get_uint64(handle, key, &v.u64); break;
	case CMAP_VALUETYPE_FLOAT: rc = cmap_get_float(handle, key, &v.flt); break;
	case CMAP_VALUETYPE_DOUBLE: rc = cmap_get_double(handle, key, &v.dbl); break;
	case CMAP_VALUETYPE_STRING: rc = cmap_get_string(handle, key, &str); break;
	default: return 0;
	}
	char call[16];
	snprintf(call, sizeof call, "get_%s", suffix);
	print_key(call, key);
	printf(", \"rc\": %d", rc);
	if (rc == CS_OK) {
		if (type == CMAP_VALUETYPE_STRING) {
			printf(", \"value\": ");
			print_json_bytes((const unsigned char *)str, strlen(str));
			free(str);
		} else {
			static const size_t sizes[] = { 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8 };
			print_value(type, &v, sizes[type]);
		}
	}
	printf("}\n");
	return 1;
}

static void do_iter(const char *prefix)
{
	cmap_iter_handle_t iter = 0;
	cs_error_t rc = cmap_iter_init(handle, prefix, &iter);
	printf("{\"call\": \"iter_init\", \"prefix\": ");
	if (prefix)
		print_json_bytes((const unsigned char *)prefix, strlen(prefix));
	else
		printf("null");
	printf(", \"rc\": %d}\n", rc);
	if (rc != CS_OK)
		return;
	for (;;) {
		char key[CMAP_KEYNAME_MAXLEN + 1];
		size_t len = 0;
		cmap_value_types_t type = 0;
		rc = cmap_iter_next(handle, iter, key, &len, &type);
		printf("{\"call\": \"iter_next\", \"rc\": %d", rc);
		if (rc == CS_OK) {
			printf(", \"key\": ");
			print_json_bytes((const unsigned char *)key, strlen(key));
			printf(", \"type\": %d, \"type_name\": \"%s\", \"value_len\": %zu", type,
			       type_name(type), len);
		}
		printf("}\n");
		if (rc != CS_OK)
			break;
	}
	rc = cmap_iter_finalize(handle, iter);
	printf("{\"call\": \"iter_finalize\", \"rc\": %d}\n", rc);
}

static int do_track_add(const char *key, uint64_t track_type, uint64_t user_data)
{
	cmap_track_handle_t th = 0;
	if (track_count == MAX_TRACKS)
		return 0;
	cs_error_t rc = cmap_track_add(handle, key, (int32_t)track_type, notify,
				       (void *)(uintptr_t)user_data, &th);
	print_key("track_add", key);
	printf(", \"track_type\": %" PRIu64 ", \"user_data\": %" PRIu64 ", \"rc\": %d", track_type,
	       user_data, rc);
	if (rc == CS_OK) {
		tracks[track_count] = th;
		printf(", \"track\": %d", track_count++);
	}
	printf("}\n");
	return 1;
}

static int run_script(void)
{
	static char line[GET_BUFFER * 2 + 512], copy[sizeof line];
	static unsigned char value[GET_BUFFER];
	char *tok[MAX_TOKENS];
	uint64_t a, b;
	cs_error_t rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int got; (got = read_line(line, copy, sizeof line)) != 0;) {
		if (got < 0)
			return bad_line("(line too long)");
		int n = tokenize(line, tok);
		if (n == 0 || (n > 0 && tok[0][0] == '#'))
			continue;
		const char *cmd = tok[0];
		/* `set KEY str VALUE`: VALUE is the rest of the line, blanks and all. */
		if (n >= 3 && strcmp(cmd, "set") == 0 && strcmp(tok[2], "str") == 0) {
			const char *rest = copy + (tok[2] - line) + 3;
			if (*rest == ' ')
				rest++;
			rc = cmap_set_string(handle, tok[1], rest);
			print_key("set", tok[1]);
			printf(", \"type\": \"str\", \"rc\": %d}\n", rc);
			continue;
		}
		if (n < 0)
			return bad_line(copy);
		if (strcmp(cmd, "init") == 0 && n == 1) {
			rc = cmap_initialize(&handle);
			printf("{\"call\": \"init\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "initialize_map") == 0 && n == 2) {
			cmap_map_t map;
			if (strcmp(tok[1], "stats") == 0)
				map = CMAP_MAP_STATS;
			else if (strcmp(tok[1], "icmap") == 0)
				map = CMAP_MAP_ICMAP;
			else if (parse_u64(tok[1], INT32_MAX, &a))
				map = (cmap_map_t)a;
			else
				return bad_line(copy);
			rc = cmap_initialize_map(&handle, map);
			printf("{\"call\": \"initialize_map\", \"map\": %d, \"rc\": %d}\n", (int)map, rc);
		} else if (strcmp(cmd, "finalize") == 0 && n == 1) {
			rc = cmap_finalize(handle);
			track_count = 0;
			printf("{\"call\": \"finalize\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "fd") == 0 && n == 1) {
			int fd = -1;
			rc = cmap_fd_get(handle, &fd);
			printf("{\"call\": \"fd\", \"rc\": %d, \"valid\": %s}\n", rc,
			       rc == CS_OK && fd >= 0 ? "true" : "false");
		} else if (strcmp(cmd, "wait") == 0 && n == 2 && parse_u64(tok[1], INT_MAX, &a)) {
			int fd = -1;
			cmap_fd_get(handle, &fd);
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int ready = poll(&p, 1, (int)a);
			printf("{\"call\": \"wait\", \"ready\": %s}\n", ready > 0 ? "true" : "false");
		} else if (strcmp(cmd, "context_set") == 0 && n == 2 &&
			   parse_u64(tok[1], UINTPTR_MAX, &a)) {
			rc = cmap_context_set(handle, (const void *)(uintptr_t)a);
			printf("{\"call\": \"context_set\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "context_get") == 0 && n == 1) {
			const void *ctx = NULL;
			rc = cmap_context_get(handle, &ctx);
			printf("{\"call\": \"context_get\", \"rc\": %d", rc);
			if (rc == CS_OK)
				printf(", \"context\": %" PRIuPTR, (uintptr_t)ctx);
			printf("}\n");
		} else if (strcmp(cmd, "dispatch") == 0 && n == 2 && parse_u64(tok[1], INT_MAX, &a)) {
			rc = cmap_dispatch(handle, (cs_dispatch_flags_t)a);
			printf("{\"call\": \"dispatch\", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "get") == 0 && n == 2) {
			do_get("get", tok[1], GET_BUFFER);
		} else if (strcmp(cmd, "get_small") == 0 && n == 3 &&
			   parse_u64(tok[2], GET_BUFFER, &a)) {
			do_get("get_small", tok[1], (size_t)a);
		} else if (strcmp(cmd, "get_len") == 0 && n == 2) {
			do_get_len(tok[1]);
		} else if (strncmp(cmd, "get_", 4) == 0 && n == 2 && strcmp(cmd, "get_bin") != 0 &&
			   do_typed_get(cmd + 4, tok[1])) {
			/* printed */
		} else if (strcmp(cmd, "set") == 0 &&
			   (n == 4 || (n == 3 && strcmp(tok[2], "bin") == 0))) {
			/* `set KEY bin` with no VALUE sets an empty binary value. */
			size_t len = 0;
			int type = type_by_name(tok[2]);
			if (!type || !encode_value(type, n == 4 ? tok[3] : "", value, sizeof value, &len))
				return bad_line(copy);
			rc = cmap_set(handle, tok[1], value, len, (cmap_value_types_t)type);
			print_key("set", tok[1]);
			printf(", \"type\": \"%s\", \"rc\": %d}\n", tok[2], rc);
		} else if (strcmp(cmd, "set_raw") == 0 && (n == 3 || n == 4) &&
			   parse_u64(tok[2], INT32_MAX, &a)) {
			size_t len = 0;
			if (n == 4 && !parse_hex(tok[3], value, sizeof value, &len))
				return bad_line(copy);
			rc = cmap_set(handle, tok[1], value, len, (cmap_value_types_t)a);
			print_key("set_raw", tok[1]);
			printf(", \"type\": %" PRIu64 ", \"value_len\": %zu, \"rc\": %d}\n", a, len, rc);
		} else if (strcmp(cmd, "delete") == 0 && n == 2) {
			rc = cmap_delete(handle, tok[1]);
			print_key("delete", tok[1]);
			printf(", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "inc") == 0 && n == 2) {
			rc = cmap_inc(handle, tok[1]);
			print_key("inc", tok[1]);
			printf(", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "dec") == 0 && n == 2) {
			rc = cmap_dec(handle, tok[1]);
			print_key("dec", tok[1]);
			printf(", \"rc\": %d}\n", rc);
		} else if (strcmp(cmd, "iter") == 0 && n <= 2) {
			do_iter(n == 2 ? tok[1] : NULL);
		} else if (strcmp(cmd, "track_add") == 0 && (n == 3 || n == 4) &&
			   parse_u64(tok[2], INT32_MAX, &a) &&
			   (n == 3 ? (b = (uint64_t)track_count, 1) : parse_u64(tok[3], UINTPTR_MAX, &b))) {
			if (!do_track_add(tok[1], a, b))
				return bad_line("(too many tracks)");
		} else if (strcmp(cmd, "track_delete") == 0 && n == 2 &&
			   parse_u64(tok[1], INT_MAX, &a) && a < (uint64_t)track_count) {
			rc = cmap_track_delete(handle, tracks[a]);
			printf("{\"call\": \"track_delete\", \"track\": %" PRIu64 ", \"rc\": %d}\n", a, rc);
		} else {
			return bad_line(copy);
		}
	}
	return 0;
}

static int run_watch(int argc, char **argv)
{
	uint64_t track_type, count, timeout_ms;
	if (argc != 6 || !parse_u64(argv[3], INT32_MAX, &track_type) ||
	    !parse_u64(argv[4], INT_MAX, &count) || !parse_u64(argv[5], INT_MAX, &timeout_ms))
		return bad_line("watch arguments");
	setvbuf(stdout, NULL, _IOLBF, 0);
	cs_error_t rc = cmap_initialize(&handle);
	printf("{\"call\": \"init\", \"rc\": %d}\n", rc);
	if (rc != CS_OK)
		return 1;
	do_track_add(argv[2], track_type, 0);
	int fd = -1;
	cmap_fd_get(handle, &fd);
	watch_loop(cmap_dispatch, handle, fd, count, timeout_ms);
	cmap_finalize(handle);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "script") == 0)
		return run_script();
	if (argc >= 2 && strcmp(argv[1], "watch") == 0)
		return run_watch(argc, argv);
	fprintf(stderr, "usage: cmap_oracle script | watch KEY TRACKTYPE COUNT TIMEOUT_MS\n");
	return 2;
}
