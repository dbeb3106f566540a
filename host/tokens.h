/* tokens.h - sealing OAuth2 tokens for the store.
 *
 * A token (a JSON object: access_token, refresh_token, token_type,
 * expires_ms, scope) is kept in the store only as AES-256-GCM ciphertext
 * under the host's token key, with a fresh random 96-bit nonce on every
 * write. The associated data binds account, provider and key id, so a row
 * copied to another account or provider fails to open, and a row says
 * which key sealed it.
 *
 * The key file holds 32 random bytes. It is made with O_EXCL, mode 0600
 * (0640 root:integ when run as root and the group integ exists), and
 * refused when others may read it. A rekey writes the new key to
 * PATH.new, reseals row after row, then renames PATH.new over PATH; the
 * ring loads both files, so a rekey killed halfway leaves every row
 * readable and can simply be run again.
 */
#ifndef INTEG_HOST_TOKENS_H
#define INTEG_HOST_TOKENS_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "store.h"

#define TOKENS_KEY_LEN 32
#define TOKENS_NONCE_LEN 12
#define TOKENS_TAG_LEN 16

/* The keys a process knows: the key file's and, while a rekey is under
 * way, PATH.new's. */
struct tokens_ring;

/* Load the key file at path (and PATH.new when present). With create,
 * a missing key file is made. Errors (INTEG_ECONFIG) are distinct: a
 * missing file (how to make one), one others may read (the chmod to run),
 * a wrong size. *out is new: free with tokens_ring_free. */
int tokens_ring_load(const char *path, int create, struct tokens_ring **out,
                     struct integ_error *err);
void tokens_ring_free(struct tokens_ring *r);

/* The id of the key new rows are sealed with (borrowed). */
const char *tokens_ring_key_id(const struct tokens_ring *r);

/* Seal tok (borrowed) for (account, provider) into row->key_id, sealed
 * and sealed_len (replacing what they held). Returns 0 or INTEG_ENOMEM /
 * INTEG_ESTATE (libcrypto failed). */
int tokens_seal(const struct tokens_ring *r, const char *account,
                const char *provider, const json_t *tok,
                struct store_token *row, struct integ_error *err);

/* Open row's token for (account, provider): *tok a new object. Errors
 * (INTEG_ESTATE) name account and provider and tell apart: a row sealed
 * under a key the ring does not hold (wrong key file), a row sealed for
 * another account (moved: `others` may list accounts to try, NULL-
 * terminated), a tampered row. Every token value read is a known secret
 * (secrets.h) before this returns. */
int tokens_open(const struct tokens_ring *r, const char *account,
                const char *provider, const struct store_token *row,
                const char *const *others, json_t **tok,
                struct integ_error *err);

/* Re-seal every row of the store under a new key. Creates PATH.new (or
 * continues with one a killed rekey left), reseals each row not yet under
 * it, one transaction a row, then renames PATH.new to PATH. *resealed
 * gets the rows written. */
int tokens_rekey(const char *path, struct store *s, size_t *resealed,
                 struct integ_error *err);

/* The default key file: $(sysconfdir)/integ/token.key. */
#define TOKENS_KEY_DEFAULT SYSCONFDIR "/integ/token.key"

#endif
