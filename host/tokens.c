/* tokens.c - the token key file and AES-256-GCM sealing of token rows. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "error.h"
#include "secrets.h"
#include "tokens.h"

#define SEAL_VERSION 1
#define KEY_ID_LEN 16 /* hex digits */

struct tokens_key {
  unsigned char key[TOKENS_KEY_LEN];
  char id[KEY_ID_LEN + 1];
};

struct tokens_ring {
  struct tokens_key keys[2]; /* [0] PATH, [1] PATH.new */
  size_t n;
  size_t current; /* index of the key new rows get */
};

/* The key id: the first 8 bytes of SHA-256 over a label and the key, so
 * the id says which key sealed a row without saying anything of it. */
static int key_id(struct tokens_key *k)
{
  static const char label[] = "integ token key id";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
           EVP_DigestUpdate(ctx, label, sizeof(label)) &&
           EVP_DigestUpdate(ctx, k->key, sizeof(k->key)) &&
           EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= KEY_ID_LEN / 2;

  EVP_MD_CTX_free(ctx);
  if (!ok)
    return -1;
  for (size_t i = 0; i < KEY_ID_LEN / 2; i++)
    snprintf(k->id + 2 * i, 3, "%02x", md[i]);
  return 0;
}

/* Make the key file: 32 random bytes, O_EXCL so two processes never
 * write two keys, 0600; as root 0640 root:integ when that group exists
 * (the daemon's user reads it through the group). */
static int key_create(const char *path, struct integ_error *err)
{
  unsigned char key[TOKENS_KEY_LEN];
  struct group *gr = geteuid() == 0 ? getgrnam("integ") : NULL;
  int fd, rc = 0;
  size_t off = 0;

  if (RAND_bytes(key, sizeof(key)) != 1)
    return error_set(err, INTEG_ESTATE,
                     "token key %s: no random bytes from libcrypto", path);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return 0; /* another process made it first: use that one */
    return error_set(err, INTEG_ECONFIG,
                     "token key %s cannot be created: %s: create its "
                     "directory, or name another file with token_key",
                     path, strerror(errno));
  }
  if (gr && (fchown(fd, 0, gr->gr_gid) || fchmod(fd, 0640)))
    rc = error_set(err, INTEG_ECONFIG, "token key %s: chown root:integ: %s",
                   path, strerror(errno));
  while (!rc && off < sizeof(key)) {
    ssize_t n = write(fd, key + off, sizeof(key) - off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = error_set(err, INTEG_EIO, "token key %s: write: %s", path,
                     strerror(errno));
    else
      off += (size_t)n;
  }
  if (!rc && fsync(fd))
    rc = error_set(err, INTEG_EIO, "token key %s: fsync: %s", path,
                   strerror(errno));
  close(fd);
  OPENSSL_cleanse(key, sizeof(key));
  if (rc)
    unlink(path);
  return rc;
}

/* Read one key file, refusing one that others may read or write. */
static int key_read(const char *path, struct tokens_key *k,
                    struct integ_error *err)
{
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  int rc = 0;
  size_t off = 0;

  if (fd < 0 && errno == ENOENT)
    return error_set(err, INTEG_ENOTFOUND,
                     "token key %s does not exist: `integ auth login` makes "
                     "one; if tokens were stored before, restore the key "
                     "file they were sealed with",
                     path);
  if (fd < 0)
    return error_set(err, INTEG_ECONFIG,
                     "token key %s cannot be read by uid %u: %s: run as "
                     "the integ user, or fix its owner",
                     path, (unsigned)geteuid(), strerror(errno));
  if (fstat(fd, &st)) {
    rc = error_set(err, INTEG_EIO, "token key %s: %s", path, strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = error_set(err, INTEG_ECONFIG,
                   "token key %s is not a regular file: name the key file",
                   path);
    goto out;
  }
  if (st.st_mode & (S_IRWXO | S_IWGRP | S_IXGRP)) {
    rc = error_set(err, INTEG_ECONFIG,
                   "token key %s may be %s by others (mode %04o): run "
                   "chmod %o %s",
                   path, (st.st_mode & S_IROTH) ? "read" : "changed",
                   (unsigned)(st.st_mode & 07777),
                   (unsigned)(st.st_mode & 0640), path);
    goto out;
  }
  if (st.st_size != TOKENS_KEY_LEN) {
    rc = error_set(err, INTEG_ECONFIG,
                   "token key %s holds %lld bytes, not %d: is it the right "
                   "file?",
                   path, (long long)st.st_size, TOKENS_KEY_LEN);
    goto out;
  }
  while (off < sizeof(k->key)) {
    ssize_t n = read(fd, k->key + off, sizeof(k->key) - off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = error_set(err, INTEG_EIO, "token key %s: short read", path);
      goto out;
    }
    off += (size_t)n;
  }
  if (key_id(k))
    rc = error_set(err, INTEG_ESTATE, "token key %s: SHA-256 failed", path);
out:
  close(fd);
  return rc;
}

static char *path_new(const char *path)
{
  char *p = NULL;

  return asprintf(&p, "%s.new", path) < 0 ? NULL : p;
}

int tokens_ring_load(const char *path, int create, struct tokens_ring **out,
                     struct integ_error *err)
{
  struct tokens_ring *r = calloc(1, sizeof(*r));
  char *pn = path_new(path);
  int rc;

  *out = NULL;
  if (!r || !pn) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (create && access(path, F_OK) && errno == ENOENT) {
    rc = key_create(path, err);
    if (rc)
      goto out;
  }
  rc = key_read(path, &r->keys[0], err);
  if (rc)
    goto out;
  r->n = 1;
  if (access(pn, F_OK) == 0) {
    /* A rekey is under way (or was killed): rows may be under either. */
    rc = key_read(pn, &r->keys[1], err);
    if (rc)
      goto out;
    r->n = 2;
    r->current = 1;
  }
  *out = r;
  r = NULL;
out:
  tokens_ring_free(r);
  free(pn);
  return rc;
}

void tokens_ring_free(struct tokens_ring *r)
{
  if (!r)
    return;
  OPENSSL_cleanse(r, sizeof(*r));
  free(r);
}

const char *tokens_ring_key_id(const struct tokens_ring *r)
{
  return r->keys[r->current].id;
}

static const struct tokens_key *ring_find(const struct tokens_ring *r,
                                          const char *id)
{
  for (size_t i = 0; i < r->n; i++)
    if (id && strcmp(r->keys[i].id, id) == 0)
      return &r->keys[i];
  return NULL;
}

/* The associated data: what the ciphertext is bound to. */
static int make_ad(struct buf *ad, const char *account, const char *provider,
                   const char *id)
{
  return buf_printf(ad, "integ-token-v%d", SEAL_VERSION) ||
         buf_append(ad, "", 1) || buf_append(ad, account, strlen(account)) ||
         buf_append(ad, "", 1) || buf_append(ad, provider, strlen(provider)) ||
         buf_append(ad, "", 1) || buf_append(ad, id, strlen(id));
}

int tokens_seal(const struct tokens_ring *r, const char *account,
                const char *provider, const json_t *tok,
                struct store_token *row, struct integ_error *err)
{
  const struct tokens_key *k = &r->keys[r->current];
  struct buf ad = BUF_INIT;
  char *plain = json_dumps(tok, JSON_COMPACT);
  unsigned char *out = NULL;
  EVP_CIPHER_CTX *ctx = NULL;
  size_t plen = plain ? strlen(plain) : 0, len;
  int n = 0, rc = 0;
  char *id = strdup(k->id);

  if (!plain || !id || make_ad(&ad, account, provider, k->id) ||
      !(out = malloc(1 + TOKENS_NONCE_LEN + plen + TOKENS_TAG_LEN))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  out[0] = SEAL_VERSION;
  len = 1 + TOKENS_NONCE_LEN;
  if (RAND_bytes(out + 1, TOKENS_NONCE_LEN) != 1 ||
      !(ctx = EVP_CIPHER_CTX_new()) ||
      !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, out + 1) ||
      !EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)ad.data,
                         (int)ad.len) ||
      !EVP_EncryptUpdate(ctx, out + len, &n, (const unsigned char *)plain,
                         (int)plen)) {
    rc = error_set(err, INTEG_ESTATE,
                   "sealing the token of account %s at "
                   "%s: libcrypto failed",
                   account, provider);
    goto out;
  }
  len += (size_t)n;
  if (!EVP_EncryptFinal_ex(ctx, out + len, &n) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TOKENS_TAG_LEN,
                           out + len + (size_t)n)) {
    rc = error_set(err, INTEG_ESTATE,
                   "sealing the token of account %s at "
                   "%s: libcrypto failed",
                   account, provider);
    goto out;
  }
  len += (size_t)n + TOKENS_TAG_LEN;
  free(row->key_id);
  free(row->sealed);
  row->key_id = id;
  row->sealed = out;
  row->sealed_len = len;
  id = NULL;
  out = NULL;
out:
  EVP_CIPHER_CTX_free(ctx);
  if (plain)
    OPENSSL_cleanse(plain, plen);
  free(plain);
  free(out);
  free(id);
  buf_free(&ad);
  return rc;
}

/* Decrypt with the AD of `account`: 0, 1 when the tag does not match,
 * or a negative code. *plain is new. */
static int try_open(const struct tokens_key *k, const char *account,
                    const char *provider, const struct store_token *row,
                    char **plain)
{
  const unsigned char *in = row->sealed;
  size_t clen = row->sealed_len - 1 - TOKENS_NONCE_LEN - TOKENS_TAG_LEN;
  struct buf ad = BUF_INIT;
  EVP_CIPHER_CTX *ctx = NULL;
  unsigned char *out = malloc(clen + 1);
  int n = 0, rc = 0;
  size_t len = 0;

  *plain = NULL;
  if (!out || make_ad(&ad, account, provider, row->key_id)) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  if (!(ctx = EVP_CIPHER_CTX_new()) ||
      !EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, in + 1) ||
      !EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)ad.data,
                         (int)ad.len) ||
      !EVP_DecryptUpdate(ctx, out, &n, in + 1 + TOKENS_NONCE_LEN, (int)clen) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TOKENS_TAG_LEN,
                           (void *)(in + 1 + TOKENS_NONCE_LEN + clen))) {
    rc = INTEG_ESTATE;
    goto out;
  }
  len = (size_t)n;
  if (EVP_DecryptFinal_ex(ctx, out + len, &n) != 1) {
    rc = 1;
    goto out;
  }
  len += (size_t)n;
  out[len] = '\0';
  *plain = (char *)out;
  out = NULL;
out:
  EVP_CIPHER_CTX_free(ctx);
  if (out)
    OPENSSL_cleanse(out, clen + 1);
  free(out);
  buf_free(&ad);
  return rc;
}

/* Every string member of the token is a secret from now on. */
static int remember(json_t *tok)
{
  const char *k;
  json_t *v;

  json_object_foreach(tok, k, v)
  {
    if (strstr(k, "token") && secrets_add_json(v))
      return INTEG_ENOMEM;
  }
  return 0;
}

int tokens_open(const struct tokens_ring *r, const char *account,
                const char *provider, const struct store_token *row,
                const char *const *others, json_t **tok,
                struct integ_error *err)
{
  const struct tokens_key *k = ring_find(r, row->key_id);
  const unsigned char *in = row->sealed;
  char *plain = NULL;
  json_t *v = NULL;
  int rc;

  *tok = NULL;
  if (!in || row->sealed_len < 1 + TOKENS_NONCE_LEN + TOKENS_TAG_LEN ||
      in[0] != SEAL_VERSION)
    return error_set(err, INTEG_ESTATE,
                     "the token of account %s at %s is damaged (not a "
                     "sealed token): log in again with integ auth login",
                     account, provider);
  if (!k)
    return error_set(err, INTEG_ESTATE,
                     "the token of account %s at %s was sealed with key %s, "
                     "which the token key file (key %s) is not: restore the "
                     "key file it was sealed with, or log in again",
                     account, provider, row->key_id ? row->key_id : "?",
                     r->keys[0].id);
  rc = try_open(k, account, provider, row, &plain);
  if (rc < 0)
    return error_set(err, rc,
                     rc == INTEG_ENOMEM ? "out of memory"
                                        : "opening a token: libcrypto failed");
  if (rc == 1) {
    for (size_t i = 0; others && others[i]; i++) {
      if (strcmp(others[i], account) == 0)
        continue;
      if (try_open(k, others[i], provider, row, &plain) == 0) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
        return error_set(err, INTEG_ESTATE,
                         "the token row of account %s at %s was sealed for "
                         "account %s: it was copied or moved between "
                         "accounts; delete it (integ auth logout) and log "
                         "in as %s",
                         account, provider, others[i], account);
      }
    }
    return error_set(err, INTEG_ESTATE,
                     "the token of account %s at %s fails its integrity "
                     "check (tampered with, or moved from another account "
                     "or provider): it was not used; log in again with "
                     "integ auth login",
                     account, provider);
  }
  v = json_loads(plain, 0, NULL);
  OPENSSL_cleanse(plain, strlen(plain));
  free(plain);
  if (!json_is_object(v)) {
    json_decref(v);
    return error_set(err, INTEG_ESTATE,
                     "the token of account %s at %s opens to something "
                     "that is not a token: log in again",
                     account, provider);
  }
  if (remember(v)) {
    json_decref(v);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  *tok = v;
  return 0;
}

int tokens_rekey(const char *path, struct store *s, size_t *resealed,
                 struct integ_error *err)
{
  struct tokens_ring *r = NULL;
  json_t *rows = NULL, *e;
  char *pn = path_new(path);
  size_t i;
  int rc;

  *resealed = 0;
  if (!pn)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  /* The old key must be there: without it nothing could be resealed. */
  rc = tokens_ring_load(path, 0, &r, err);
  if (rc)
    goto out;
  if (r->n == 1) {
    tokens_ring_free(r);
    r = NULL;
    rc = key_create(pn, err);
    if (!rc)
      rc = tokens_ring_load(path, 0, &r, err);
    if (rc)
      goto out;
  }
  rc = store_token_list(s, NULL, &rows, err);
  if (rc)
    goto out;
  json_array_foreach(rows, i, e)
  {
    const char *acc = json_string_value(json_object_get(e, "account"));
    const char *prov = json_string_value(json_object_get(e, "provider"));
    struct store_token row;
    json_t *tok = NULL;

    if (!json_is_true(json_object_get(e, "has_token")) ||
        strcmp(json_string_value(json_object_get(e, "key_id")),
               tokens_ring_key_id(r)) == 0)
      continue;
    rc = store_token_get(s, acc, prov, &row, err);
    if (!rc)
      rc = tokens_open(r, acc, prov, &row, NULL, &tok, err);
    if (!rc)
      rc = tokens_seal(r, acc, prov, tok, &row, err);
    /* Each row in its own transaction: a kill leaves some rows under the
     * old key and some under the new, and the ring holds both. */
    if (!rc)
      rc = store_token_put(s, acc, prov, &row, NULL, err);
    json_decref(tok);
    store_token_clear(&row);
    if (rc)
      goto out;
    (*resealed)++;
  }
  if (rename(pn, path))
    rc = error_set(err, INTEG_EIO, "rekey: rename %s to %s: %s", pn, path,
                   strerror(errno));
out:
  json_decref(rows);
  tokens_ring_free(r);
  free(pn);
  return rc;
}
