/*
 * store_sqlite_seal.c - phone numbers sealed in the database: the key
 * check at open, the SQL functions, and sealing the clear numbers of a
 * database made before seals (once, on its first start with them).
 */
#include "store_sqlite.h"
#include "log.h"

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sz_seal(text) -> blob; a blob (already a seal) and NULL pass through. */
static void
sqlite_fn_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sqlite_store *s = sqlite3_user_data(ctx);
	unsigned char seal[PHONE_SEAL_LEN];
	const char *phone;

	(void)argc;
	switch (sqlite3_value_type(argv[0])) {
	case SQLITE_NULL:
		return;
	case SQLITE_BLOB:
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	phone = (const char *)sqlite3_value_text(argv[0]);
	if (phone == NULL || phone_seal(s->seal, phone, seal) != 0) {
		sqlite3_result_error(ctx, "sz_seal: not a phone number", -1);
		return;
	}
	sqlite3_result_blob(ctx, seal, sizeof(seal), SQLITE_TRANSIENT);
}

/* sz_open(blob) -> text; text (a number never sealed) passes through. */
static void
sqlite_fn_open(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sqlite_store *s = sqlite3_user_data(ctx);
	char phone[PHONE_SEAL_MAX + 1];

	(void)argc;
	switch (sqlite3_value_type(argv[0])) {
	case SQLITE_NULL:
		return;
	case SQLITE_BLOB:
		break;
	default:
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	if (phone_open(s->seal, sqlite3_value_blob(argv[0]),
	    (size_t)sqlite3_value_bytes(argv[0]), phone) != 0) {
		sqlite3_result_error(ctx, "sz_open: a phone seal that "
		    "phone.key does not open", -1);
		return;
	}
	sqlite3_result_text(ctx, phone, -1, SQLITE_TRANSIENT);
	OPENSSL_cleanse(phone, sizeof(phone));
}

bool
sqlite_bind_phone(struct sqlite_store *s, sqlite3_stmt *stmt, int i,
    const char *phone)
{
	unsigned char seal[PHONE_SEAL_LEN];

	if (phone == NULL || phone_seal(s->seal, phone, seal) != 0) {
		snprintf(s->err, sizeof(s->err), "not a phone number");
		return false;
	}
	return sqlite3_bind_blob(stmt, i, seal, sizeof(seal),
	    SQLITE_TRANSIENT) == SQLITE_OK;
}

bool
sqlite_column_phone(struct sqlite_store *s, sqlite3_stmt *stmt, int i,
    char out[PHONE_SEAL_MAX + 1])
{
	if (sqlite3_column_type(stmt, i) != SQLITE_BLOB) {
		const unsigned char *t = sqlite3_column_text(stmt, i);

		snprintf(out, PHONE_SEAL_MAX + 1, "%s", t ? (const char *)t : "");
		return t != NULL;
	}
	return phone_open(s->seal, sqlite3_column_blob(stmt, i),
	    (size_t)sqlite3_column_bytes(stmt, i), out) == 0;
}

bool
sqlite_column_seal(sqlite3_stmt *stmt, int i, unsigned char out[PHONE_SEAL_LEN])
{
	const void *b = sqlite3_column_blob(stmt, i);

	if (b == NULL || sqlite3_column_bytes(stmt, i) != PHONE_SEAL_LEN)
		return false;
	memcpy(out, b, PHONE_SEAL_LEN);
	return true;
}

#define SEAL_MARK_OPEN	"{{phone:"
#define SEAL_MARK_CLOSE	"}}"

void
sqlite_seal_mark(const unsigned char seal[PHONE_SEAL_LEN],
    char out[SEAL_MARK_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out + sizeof(SEAL_MARK_OPEN) - 1;

	memcpy(out, SEAL_MARK_OPEN, sizeof(SEAL_MARK_OPEN) - 1);
	for (size_t i = 0; i < PHONE_SEAL_LEN; i++) {
		*o++ = hex[seal[i] >> 4];
		*o++ = hex[seal[i] & 15];
	}
	memcpy(o, SEAL_MARK_CLOSE, sizeof(SEAL_MARK_CLOSE));
}

/* The seal a mark at p spells; false when p is not a mark. */
static bool
sqlite_seal_parse(const char *p, unsigned char seal[PHONE_SEAL_LEN])
{
	const char *h = p + sizeof(SEAL_MARK_OPEN) - 1;

	if (strncmp(p, SEAL_MARK_OPEN, sizeof(SEAL_MARK_OPEN) - 1) != 0 ||
	    strncmp(h + 2 * PHONE_SEAL_LEN, SEAL_MARK_CLOSE,
	    sizeof(SEAL_MARK_CLOSE) - 1) != 0)
		return false;
	for (size_t i = 0; i < 2 * PHONE_SEAL_LEN; i++) {
		int v = h[i] >= '0' && h[i] <= '9' ? h[i] - '0' :
		    h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10 : -1;

		if (v < 0)
			return false;
		if (i % 2 == 0)
			seal[i / 2] = (unsigned char)(v << 4);
		else
			seal[i / 2] |= (unsigned char)v;
	}
	return true;
}

char *
sqlite_seal_unmark(struct sqlite_store *s, const char *text)
{
	unsigned char seal[PHONE_SEAL_LEN];
	char phone[PHONE_SEAL_MAX + 1];
	/* A number is never longer than its mark. */
	char *out = malloc(strlen(text) + 1), *o = out;
	const char *p = text, *m;

	if (out == NULL)
		return NULL;
	while ((m = strstr(p, SEAL_MARK_OPEN)) != NULL) {
		memcpy(o, p, (size_t)(m - p));
		o += m - p;
		if (strnlen(m, SEAL_MARK_LEN) == SEAL_MARK_LEN &&
		    sqlite_seal_parse(m, seal)) {
			if (phone_open(s->seal, seal, sizeof(seal), phone) != 0)
				snprintf(phone, sizeof(phone), "****");
			memcpy(o, phone, strlen(phone));
			o += strlen(phone);
			p = m + SEAL_MARK_LEN;
		} else {
			*o++ = *m;
			p = m + 1;
		}
	}
	memcpy(o, p, strlen(p) + 1);
	OPENSSL_cleanse(phone, sizeof(phone));
	return out;
}

/* The key id the database's numbers are sealed with; "" when none yet. */
static int
sqlite_seal_id(struct sqlite_store *s, char id[PHONE_KEY_ID_LEN + 1])
{
	sqlite3_stmt *stmt;
	int rc;

	id[0] = '\0';
	if (sqlite_prepare(s, "SELECT value FROM meta WHERE name = "
	    "'phone_key_id'", &stmt) != STORE_OK)
		return STORE_ERROR;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		snprintf(id, PHONE_KEY_ID_LEN + 1, "%s",
		    (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK :
	    sqlite_fail(s, rc, "meta");
}

/*
 * The first start with seals: every clear number sealed and the key's id
 * written, in one transaction.  secure_delete zeroes what the clear
 * numbers leave behind, and the WAL that held their pages is emptied.
 */
static int
sqlite_seal_first(struct sqlite_store *s, const struct phone_key *key)
{
	char sql[160];
	int posts, rcpts;

	snprintf(sql, sizeof(sql), "INSERT INTO meta (name, value) VALUES "
	    "('phone_key_id', '%s')", key->id);
	if (sqlite_exec(s, "PRAGMA secure_delete = ON") != STORE_OK ||
	    sqlite_exec(s, "BEGIN IMMEDIATE") != STORE_OK)
		return STORE_ERROR;
	/* A slot that is its holder's number (roster_link.c) too. */
	if (sqlite_exec(s, "UPDATE posts SET slot = sz_seal(slot) "
	    "WHERE slot = phone") != STORE_OK ||
	    sqlite_exec(s, "UPDATE posts SET phone = sz_seal(phone) "
	    "WHERE typeof(phone) = 'text'") != STORE_OK)
		goto fail;
	posts = sqlite3_changes(s->db);
	if (sqlite_exec(s, "UPDATE recipients SET phone = sz_seal(phone) "
	    "WHERE typeof(phone) = 'text'") != STORE_OK)
		goto fail;
	rcpts = sqlite3_changes(s->db);
	/* Alerts sorted by clear number are not in seal order: scan them. */
	if (rcpts > 0 && sqlite_exec(s, "UPDATE alerts SET phone_sorted = 0")
	    != STORE_OK)
		goto fail;
	if (sqlite_exec(s, sql) != STORE_OK ||
	    sqlite_exec(s, "COMMIT") != STORE_OK)
		goto fail;
	if (posts + rcpts > 0) {
		if (sqlite_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)") != STORE_OK)
			log_warnx("store: %s", s->err);
		log_info("store: sealed the phone numbers of %d posts and %d "
		    "recipients (phone.key id %s)", posts, rcpts, key->id);
	}
	return sqlite_exec(s, "PRAGMA secure_delete = OFF");
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERROR;
}

int
sqlite_seal_start(struct sqlite_store *s, const char *state_dir)
{
	char have[PHONE_KEY_ID_LEN + 1], err[sizeof(s->err)];
	struct phone_key key;
	int rc = STORE_ERROR;

	if (sqlite_seal_id(s, have) != STORE_OK)
		return STORE_ERROR;
	/* Only the writer makes a key, and only for a database with none. */
	if (phone_key_load(state_dir, s->writer && have[0] == '\0', &key, err,
	    sizeof(err)) != 0) {
		if (have[0] != '\0')
			snprintf(s->err, sizeof(s->err), "%.100s; the "
			    "database's phone numbers are sealed with phone.key "
			    "id %s: restore that key file (they cannot be read "
			    "without it)", err, have);
		else
			snprintf(s->err, sizeof(s->err), "%s", err);
		return STORE_ERROR;
	}
	if (have[0] != '\0' && strcmp(have, key.id) != 0) {
		snprintf(s->err, sizeof(s->err), "%s/phone.key has id %s, but "
		    "the database's phone numbers are sealed with id %s: "
		    "restore the phone.key that belongs with this database",
		    state_dir, key.id, have);
		goto out;
	}
	if ((s->seal = phone_sealer_new(&key)) == NULL) {
		snprintf(s->err, sizeof(s->err), "phone seals: no AES-256");
		goto out;
	}
	if (sqlite3_create_function_v2(s->db, "sz_seal", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, s, sqlite_fn_seal, NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_create_function_v2(s->db, "sz_open", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, s, sqlite_fn_open, NULL, NULL,
	    NULL) != SQLITE_OK) {
		sqlite_fail(s, SQLITE_ERROR, "phone seal functions");
		goto out;
	}
	if (key.created)
		log_info("store: made %s/phone.key (id %s): back it up apart "
		    "from the database", state_dir, key.id);
	rc = s->writer && have[0] == '\0' ? sqlite_seal_first(s, &key) :
	    STORE_OK;
out:
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}
