/*
 * ctl_token.c - "token new": make an API token locally.
 *
 * The daemon keeps only a token's SHA-256, so the secret exists in clear
 * only here and in what the user does with it: it is printed once, and the
 * config line carries the hash.  No daemon is involved.
 */
#include "ctl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_RAW_BYTES	32
#define TOKEN_PREFIX	"sz_"
#define TOKEN_MAX_NAME	64
#define TOKEN_MAX_CODE	160		/* as ROSTER_MAX_CODE */
#define TOKEN_MAX_SEG	32		/* as ROSTER_MAX_SEGMENT */

/* The options of "token new"; scopes point into argv. */
struct token_opts {
	const char	*name;
	const char	*role;
	const char	**scope;
	size_t		 n_scope;
};

static bool
token_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= TOKEN_MAX_NAME && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static bool
token_role_ok(const char *s)
{
	return strcmp(s, "admin") == 0 || strcmp(s, "operator") == 0 ||
	    strcmp(s, "viewer") == 0;
}

/*
 * A scope is a node code: a 9-digit street, or a 12-digit community with
 * up to three more segments (grid, building, unit).  It goes inside a
 * libconfig string, so quotes, backslashes and control bytes are refused.
 */
static bool
token_scope_ok(const char *s)
{
	size_t d = strspn(s, "0123456789"), n;
	int segs = 0;

	if (strlen(s) > TOKEN_MAX_CODE || (d != 9 && d != 12))
		return false;
	if (d == 9)
		return s[9] == '\0';
	for (s += 12; *s == '/'; s += n) {
		s++;
		n = strcspn(s, "/");
		if (n == 0 || n > TOKEN_MAX_SEG || ++segs > 3)
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
			    s[i] == '"' || s[i] == '\\')
				return false;
	}
	return *s == '\0';
}

static int
token_fill(unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* "sz_" + base64url(32 random bytes) without padding: 46 characters. */
static int
token_secret(char *out, size_t outlen)
{
	unsigned char raw[TOKEN_RAW_BYTES];
	unsigned char b64[4 * ((TOKEN_RAW_BYTES + 2) / 3) + 1];
	size_t n;
	int len;

	if (token_fill(raw, sizeof(raw)) == -1)
		return -1;
	len = EVP_EncodeBlock(b64, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	for (n = 0; n < (size_t)len && b64[n] != '='; n++) {
		if (b64[n] == '+')
			b64[n] = '-';
		else if (b64[n] == '/')
			b64[n] = '_';
	}
	snprintf(out, outlen, "%s%.*s", TOKEN_PREFIX, (int)n, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	return 0;
}

/* Lower-case hex SHA-256 of the secret string, as the config holds it. */
static int
token_hash(const char *secret, char hex[2 * 32 + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void
token_print(const struct token_opts *o, const char *secret, const char *hex)
{
	fprintf(stderr, "sanzhangctl: the secret of token '%s' follows. It is "
	    "shown only now and cannot be recovered; keep it safe:\n", o->name);
	printf("%s\n", secret);
	fflush(stdout);
	fprintf(stderr, "Add this line to tokens in sanzhangd.conf, then "
	    "reload sanzhangd:\n");
	printf("{ name = \"%s\"; sha256 = \"%s\"; role = \"%s\";", o->name, hex,
	    o->role);
	if (o->n_scope > 0) {
		printf(" scope = [");
		for (size_t i = 0; i < o->n_scope; i++)
			printf(" \"%s\"%s", o->scope[i],
			    i + 1 < o->n_scope ? "," : "");
		printf(" ];");
	}
	printf(" },\n");
	fflush(stdout);
	if (o->n_scope == 0)
		fprintf(stderr, "(no --scope: this token reaches every "
		    "node)\n");
}

static int
token_parse(int argc, char **argv, struct token_opts *o)
{
	static const struct option opts[] = {
		{ "name",  required_argument, NULL, 'n' },
		{ "role",  required_argument, NULL, 'r' },
		{ "scope", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, ":n:r:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': o->name = optarg; break;
		case 'r': o->role = optarg; break;
		case 's':
			if (!token_scope_ok(optarg))
				return ctl_usage_error("--scope '%s' is not a "
				    "node code (e.g. 220104001 or "
				    "220104001001/G01)", optarg);
			o->scope[o->n_scope++] = optarg;
			break;
		default:
			return ctl_opt_error("token new", ch, argv, "token new "
			    "--name NAME --role admin|operator|viewer "
			    "[--scope CODE]...");
		}
	}
	if (optind != argc)
		return ctl_usage_error("token new takes no argument '%s'",
		    argv[optind]);
	if (o->name == NULL || !token_name_ok(o->name))
		return ctl_usage_error("token new wants --name of 1 to 64 "
		    "letters, digits, '.', '_' or '-'");
	if (o->role == NULL || !token_role_ok(o->role))
		return ctl_usage_error("token new wants --role admin, operator "
		    "or viewer");
	return CTL_OK;
}

static int
token_make(const struct token_opts *o)
{
	char secret[sizeof(TOKEN_PREFIX) + 64], hex[2 * 32 + 1];

	if (token_secret(secret, sizeof(secret)) == -1)
		return ctl_failx(CTL_IO, "token new", "getrandom: %s",
		    strerror(errno));
	if (token_hash(secret, hex) == -1) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return ctl_failx(CTL_IO, "token new", "SHA-256 failed");
	}
	token_print(o, secret, hex);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ferror(stdout) ? CTL_IO : CTL_OK;
}

int
ctl_token(int argc, char **argv)
{
	struct token_opts o = { 0 };
	int rc;

	if (argc < 2 || strcmp(argv[1], "new") != 0)
		return ctl_usage_error("token wants: new --name NAME --role "
		    "ROLE [--scope CODE]...");
	/* Each --scope takes an argv slot, so argc bounds their number. */
	if ((o.scope = calloc((size_t)argc, sizeof(*o.scope))) == NULL)
		return ctl_failx(CTL_IO, "token new", "out of memory");
	rc = token_parse(argc - 1, argv + 1, &o);
	if (rc == CTL_OK)
		rc = token_make(&o);
	free(o.scope);
	return rc;
}
