/* secrets.c - references, redaction and scrubbing (see secrets.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "secrets.h"

#define MAX_SECRET_FILE (64u * 1024u)

/* Errors are set with the SDK's integ_error_set, not error_set: error.c
 * scrubs through this file, so secrets.c must not call back into it. The
 * messages name references and files, never a secret value. */

/* ------------------------------------------------------- known values */

struct value {
  char *s;
  size_t len;
};

/* The process-wide set (see secrets.h for why it is global), sorted
 * longest first so that a value inside a longer one is not half
 * replaced. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct value *values;
static size_t n_values;

int secrets_add(const char *value, size_t len)
{
  struct value *grown;
  char *copy;
  size_t at;
  int rc = 0;

  if (!value || len < SECRETS_MIN_LEN)
    return 0;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < n_values; i++)
    if (values[i].len == len && memcmp(values[i].s, value, len) == 0)
      goto out;
  copy = malloc(len + 1);
  grown = copy ? realloc(values, (n_values + 1) * sizeof(*values)) : NULL;
  if (!grown) {
    free(copy);
    rc = INTEG_ENOMEM;
    goto out;
  }
  values = grown;
  memcpy(copy, value, len);
  copy[len] = '\0';
  for (at = 0; at < n_values && values[at].len >= len; at++)
    ;
  memmove(&values[at + 1], &values[at], (n_values - at) * sizeof(*values));
  values[at].s = copy;
  values[at].len = len;
  n_values++;
out:
  pthread_mutex_unlock(&lock);
  return rc;
}

int secrets_add_json(const json_t *v)
{
  if (!json_is_string(v))
    return 0;
  return secrets_add(json_string_value(v), json_string_length(v));
}

int secrets_add_credential(const char *value)
{
  const char *sp;
  int rc;

  if (!value)
    return 0;
  rc = secrets_add(value, strlen(value));
  /* "Scheme token": the token alone is what gets echoed back. */
  sp = strchr(value, ' ');
  if (!rc && sp) {
    sp += strspn(sp, " ");
    rc = secrets_add(sp, strlen(sp));
  }
  return rc;
}

size_t secrets_count(void)
{
  size_t n;

  pthread_mutex_lock(&lock);
  n = n_values;
  pthread_mutex_unlock(&lock);
  return n;
}

void secrets_clear(void)
{
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < n_values; i++)
    free(values[i].s);
  free(values);
  values = NULL;
  n_values = 0;
  pthread_mutex_unlock(&lock);
}

/* ---------------------------------------------------------- scrubbing */

/* The known value that starts at text[at] (longest first), or NULL. The
 * lock is held. */
static const struct value *match_at(const char *text, size_t len, size_t at)
{
  for (size_t i = 0; i < n_values; i++)
    if (values[i].len <= len - at &&
        memcmp(text + at, values[i].s, values[i].len) == 0)
      return &values[i];
  return NULL;
}

/* Does any known value occur in text? The lock is held. */
static int any_in(const char *text, size_t len)
{
  for (size_t i = 0; i < n_values; i++)
    if (memmem(text, len, values[i].s, values[i].len))
      return 1;
  return 0;
}

int secrets_found(const char *text, size_t len)
{
  int found;

  if (!text)
    return 0;
  pthread_mutex_lock(&lock);
  found = any_in(text, len);
  pthread_mutex_unlock(&lock);
  return found;
}

char *secrets_scrubn(const char *text, size_t len, size_t *out_len)
{
  struct buf out = BUF_INIT;
  size_t i = 0, from = 0;
  int rc = 0;

  if (!text)
    text = "";
  pthread_mutex_lock(&lock);
  if (!any_in(text, len)) {
    rc = buf_append(&out, text, len);
    goto out;
  }
  while (i < len && !rc) {
    const struct value *v = match_at(text, len, i);

    if (!v) {
      i++;
      continue;
    }
    rc = buf_append(&out, text + from, i - from) ||
         buf_append(&out, SECRETS_MARK, sizeof(SECRETS_MARK) - 1);
    i += v->len;
    from = i;
  }
  if (!rc)
    rc = buf_append(&out, text + from, len - from);
out:
  pthread_mutex_unlock(&lock);
  /* buf_append leaves room for the NUL; an empty text has no data yet. */
  if (!rc && !out.data)
    rc = buf_reserve(&out, 1);
  if (rc) {
    buf_free(&out);
    return NULL;
  }
  out.data[out.len] = '\0';
  if (out_len)
    *out_len = out.len;
  return out.data;
}

char *secrets_scrub(const char *text)
{
  return secrets_scrubn(text, text ? strlen(text) : 0, NULL);
}

void secrets_scrub_to(const char *text, size_t len, char *dst, size_t size)
{
  size_t i = 0, n = 0;
  int cut = 0;

  if (!size)
    return;
  pthread_mutex_lock(&lock);
  while (i < len) {
    const struct value *v = n_values ? match_at(text, len, i) : NULL;
    const char *piece = v ? SECRETS_MARK : text + i;
    size_t plen = v ? sizeof(SECRETS_MARK) - 1 : 1;

    if (n + plen >= size) {
      cut = 1;
      break;
    }
    memcpy(dst + n, piece, plen);
    n += plen;
    i += v ? v->len : 1;
  }
  pthread_mutex_unlock(&lock);
  dst[n] = '\0';
  if (cut && size >= 4) {
    /* Never end in the first bytes of a mark or of a value cut short:
     * "..." replaces the last three bytes, more if a mark was cut. */
    n = n > size - 4 ? size - 4 : n;
    memcpy(dst + n, "...", 4);
  }
}

/* --------------------------------------------------------- references */

/* Quote s for a shell command line when it needs it. New string. */
static char *shell_quote(const char *s)
{
  struct buf out = BUF_INIT;
  int rc = 0;

  if (!strpbrk(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~"))
    return strdup(s);
  rc = buf_append(&out, "'", 1);
  for (const char *p = s; *p && !rc; p++)
    rc = *p == '\'' ? buf_appends(&out, "'\\''") : buf_append(&out, p, 1);
  if (rc || buf_append(&out, "'", 1)) {
    buf_free(&out);
    return NULL;
  }
  return out.data;
}

/* Why the secret file (open, fstat'ed as st) may not be used: sets err
 * and returns INTEG_ECONFIG, or 0 when it may. */
static int file_refused(const char *ref, const char *path,
                        const struct stat *st, struct integ_error *err)
{
  char *q;
  int rc = 0;

  if (!S_ISREG(st->st_mode))
    return integ_error_set(
        err, INTEG_ECONFIG,
        "${file:%s}: %s is not a regular file (a FIFO, device "
        "or directory): name a file that holds the secret",
        ref, path);
  if (st->st_size > (off_t)MAX_SECRET_FILE)
    return integ_error_set(err, INTEG_ECONFIG,
                           "${file:%s}: %s is larger than %u bytes: is it the "
                           "right file?",
                           ref, path, MAX_SECRET_FILE);
  if (!(st->st_mode & (S_IRWXO | S_IWGRP)) &&
      (st->st_uid == geteuid() || st->st_uid == 0))
    return 0;
  q = shell_quote(path);
  if (!q)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  if (st->st_mode & (S_IRWXO | S_IWGRP)) {
    rc = integ_error_set(
        err, INTEG_ECONFIG,
        "${file:%s}: the secret file %s is %s by others (mode %04o): run "
        "chmod %o %s",
        ref, path, (st->st_mode & S_IROTH) ? "readable" : "writable",
        (unsigned)(st->st_mode & 07777),
        (unsigned)(st->st_mode & 0777 & ~(unsigned)(S_IRWXO | S_IWGRP)), q);
  } else {
    struct passwd *pw = getpwuid(geteuid());

    if (pw)
      rc = integ_error_set(
          err, INTEG_ECONFIG,
          "${file:%s}: the secret file %s belongs to uid %u, not "
          "to this user: run chown %s %s",
          ref, path, (unsigned)st->st_uid, pw->pw_name, q);
    else
      rc = integ_error_set(
          err, INTEG_ECONFIG,
          "${file:%s}: the secret file %s belongs to uid %u, not "
          "to this user: run chown %u %s",
          ref, path, (unsigned)st->st_uid, (unsigned)geteuid(), q);
  }
  free(q);
  return rc;
}

int secrets_read_file(const char *ref, const char *path, char **out,
                      struct integ_error *err)
{
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  int fd, rc;

  *out = NULL;
  /* O_NONBLOCK: opening a FIFO without a writer must not hang; it is
   * refused below as not a regular file. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = integ_error_set(err, INTEG_ECONFIG, "${file:%s}: cannot read %s: %s",
                         ref, path, strerror(errno));
    goto out;
  }
  rc = file_refused(ref, path, &st, err);
  if (rc)
    goto out;
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  while (len < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc =
          integ_error_set(err, INTEG_ECONFIG, "${file:%s}: cannot read %s: %s",
                          ref, path, strerror(errno));
      goto out;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  /* The trailing newline editors add is not part of the secret. */
  if (len && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (len && buf[len - 1] == '\r')
    buf[--len] = '\0';
  if (strlen(buf) != len) {
    rc = integ_error_set(err, INTEG_ECONFIG, "${file:%s}: %s holds a NUL byte",
                         ref, path);
    goto out;
  }
  rc = secrets_add(buf, len);
  if (rc) {
    integ_error_set(err, rc, "out of memory");
    goto out;
  }
  *out = buf;
  buf = NULL;
out:
  if (fd >= 0)
    close(fd);
  free(buf);
  return rc;
}

static int valid_env_name(const char *s, size_t n)
{
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
      return 0;
  return 1;
}

/* `rel` made relative to the directory of the file `base`. New string. */
static char *relative_to(const char *base, const char *rel)
{
  const char *slash = base ? strrchr(base, '/') : NULL;
  struct buf out = BUF_INIT;

  if (rel[0] == '/' || !slash)
    return strdup(rel);
  if (buf_append(&out, base, (size_t)(slash - base) + 1) ||
      buf_appends(&out, rel)) {
    buf_free(&out);
    return NULL;
  }
  return out.data;
}

/* Resolve the reference ${kind:arg} and append its value to out. */
static int resolve_one(const char *kind, size_t klen, const char *arg,
                       size_t alen, const char *base, struct buf *out,
                       struct integ_error *err)
{
  char *name = strndup(arg, alen), *full = NULL, *val = NULL;
  int rc = 0;

  if (!name)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  if (klen == 3 && memcmp(kind, "env", 3) == 0) {
    const char *v;

    if (!valid_env_name(arg, alen)) {
      rc = integ_error_set(
          err, INTEG_ECONFIG,
          "${env:%s}: not a variable name (letters, digits and _)", name);
      goto out;
    }
    v = getenv(name);
    if (!v) {
      rc = integ_error_set(err, INTEG_ECONFIG,
                           "${env:%s}: the environment variable %s is not set",
                           name, name);
      goto out;
    }
    rc = secrets_add(v, strlen(v));
    if (!rc)
      rc = buf_appends(out, v);
    if (rc)
      integ_error_set(err, rc, "out of memory");
    goto out;
  }
  if (!alen) {
    rc = integ_error_set(err, INTEG_ECONFIG,
                         "${file:}: the file name is empty");
    goto out;
  }
  full = relative_to(base, name);
  if (!full) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = secrets_read_file(name, full, &val, err);
  if (rc)
    goto out;
  rc = buf_appends(out, val);
  if (rc)
    integ_error_set(err, rc, "out of memory");
out:
  free(name);
  free(full);
  free(val);
  return rc;
}

int secrets_resolve(const char *text, size_t len, const char *base, char **out,
                    size_t *out_len, int *refs, struct integ_error *err)
{
  struct buf res = BUF_INIT;
  int changed = 0, rc = 0;

  *out = NULL;
  *out_len = 0;
  *refs = 0;
  if (!memchr(text, '$', len))
    return 0;
  for (size_t i = 0; i < len && !rc;) {
    const char *p = text + i, *close, *colon;
    size_t rest = len - i, klen;
    int word;

    if (rest >= 3 && memcmp(p, "$${", 3) == 0) {
      /* $${ writes a literal ${ */
      rc = buf_append(&res, "${", 2);
      i += 3;
      changed = 1;
      continue;
    }
    if (rest < 2 || p[0] != '$' || p[1] != '{') {
      rc = buf_append(&res, p, 1);
      i++;
      continue;
    }
    close = memchr(p, '}', rest);
    colon = memchr(p, ':', close ? (size_t)(close - p) : rest);
    klen = colon ? (size_t)(colon - p - 2) : 0;
    word = colon != NULL && klen > 0;
    for (size_t k = 2; word && k < 2 + klen; k++)
      if (!(p[k] >= 'a' && p[k] <= 'z'))
        word = 0;
    if (!word) {
      rc = buf_append(&res, p, 1);
      i++;
      continue;
    }
    if (!close) {
      rc = integ_error_set(err, INTEG_ECONFIG,
                           "unterminated reference '%.*s': end it with '}'",
                           (int)(rest > 40 ? 40 : rest), p);
      goto out;
    }
    if (!((klen == 3 && memcmp(p + 2, "env", 3) == 0) ||
          (klen == 4 && memcmp(p + 2, "file", 4) == 0))) {
      size_t n = (size_t)(close - p) + 1;

      rc = integ_error_set(err, INTEG_ECONFIG,
                           "unknown reference '%.*s': use ${env:NAME} or "
                           "${file:PATH} (write $${ for a literal ${)",
                           (int)(n > 60 ? 60 : n), p);
      goto out;
    }
    rc = resolve_one(p + 2, klen, colon + 1, (size_t)(close - colon - 1), base,
                     &res, err);
    if (rc)
      goto out;
    i += (size_t)(close - p) + 1;
    *refs = 1;
  }
  if (rc) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (!*refs && !changed)
    goto out;
  if (!res.data && buf_reserve(&res, 1)) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  res.data[res.len] = '\0';
  /* The whole value is a secret too ("Bearer ${env:T}"). */
  if (*refs && secrets_add(res.data, res.len)) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  *out = res.data;
  *out_len = res.len;
  res.data = NULL;
out:
  if (rc)
    *refs = 0;
  buf_free(&res);
  return rc;
}

/* ------------------------------------------------- redaction by name */

int secrets_name_is_secret(const char *name, size_t len)
{
  static const char *const words[] = {
      "token", "key",       "secret", "password", "passwd",     "pwd",
      "sig",   "signature", "auth",   "session",  "credential", "code"};
  char lower[64];

  if (len >= sizeof(lower))
    len = sizeof(lower) - 1;
  for (size_t i = 0; i < len; i++)
    lower[i] = (char)tolower((unsigned char)name[i]);
  lower[len] = '\0';
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strstr(lower, words[i]))
      return 1;
  return 0;
}

int secrets_header_is_secret(const char *name)
{
  static const char *const exact[] = {"authorization", "proxy-authorization",
                                      "cookie", "set-cookie"};

  for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
    if (strcasecmp(name, exact[i]) == 0)
      return 1;
  return secrets_name_is_secret(name, strlen(name));
}

/* The URL with names redacted, before values are scrubbed. */
static int redact_url_names(const char *url, const char *const *extra,
                            struct buf *out)
{
  const char *scheme_end = strstr(url, "://");
  const char *p = url, *q;

  /* user:password@ */
  if (scheme_end) {
    const char *host = scheme_end + 3;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));

    if (at) {
      if (buf_append(out, url, (size_t)(host - url)) ||
          buf_appends(out, SECRETS_URL_MARK "@"))
        return INTEG_ENOMEM;
      p = at + 1;
    }
  }
  q = strchr(p, '?');
  if (!q)
    return buf_appends(out, p);
  if (buf_append(out, p, (size_t)(q + 1 - p)))
    return INTEG_ENOMEM;
  p = q + 1;
  while (*p && *p != '#') {
    size_t len = strcspn(p, "&#");
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;
    int secret = secrets_name_is_secret(p, nlen);

    for (size_t i = 0; extra && extra[i] && !secret; i++)
      secret = strlen(extra[i]) == nlen && strncmp(extra[i], p, nlen) == 0;
    if (secret && eq) {
      if (buf_append(out, p, nlen + 1) || buf_appends(out, SECRETS_URL_MARK))
        return INTEG_ENOMEM;
    } else if (buf_append(out, p, len)) {
      return INTEG_ENOMEM;
    }
    p += len;
    if (*p == '&') {
      if (buf_append(out, "&", 1))
        return INTEG_ENOMEM;
      p++;
    }
  }
  return buf_appends(out, p);
}

char *secrets_redact_url(const char *url, const char *const *extra)
{
  struct buf named = BUF_INIT;
  char *out = NULL;

  if (!redact_url_names(url, extra, &named))
    out = secrets_scrubn(named.data ? named.data : "", named.len, NULL);
  buf_free(&named);
  return out;
}

/* Append ".key" (or "key" at the root) or "[i]" to the key path p, as
 * yaml.h writes key paths. Returns the length to cut back to, or
 * (size_t)-1 when out of memory. */
static size_t path_push(struct buf *p, const char *key, size_t index)
{
  size_t saved = p->len;
  int rc = key ? buf_printf(p, "%s%s", p->len ? "." : "", key)
               : buf_printf(p, "[%zu]", index);

  return rc ? (size_t)-1 : saved;
}

static void path_pop(struct buf *p, size_t len)
{
  p->len = len;
  if (p->data)
    p->data[len] = '\0';
}

/* Is the member at key path p a secret? */
static int at_secret(const json_t *paths, const struct buf *p)
{
  return json_object_get(paths, p->data ? p->data : "") != NULL;
}

static int redact_walk(const json_t *paths, struct buf *p, json_t *v)
{
  const char *k;
  json_t *e;
  size_t i;

  /* At most one of the two loops runs: v is an object or an array. A
   * secret member is replaced (replacing keeps the iteration valid), any
   * other walked into. */
  json_object_foreach(v, k, e)
  {
    size_t saved = path_push(p, k, 0);

    if (saved == (size_t)-1)
      return INTEG_ENOMEM;
    if (at_secret(paths, p)
            ? json_object_set_new(v, k, json_string(SECRETS_MARK))
            : redact_walk(paths, p, e))
      return INTEG_ENOMEM;
    path_pop(p, saved);
  }
  json_array_foreach(v, i, e)
  {
    size_t saved = path_push(p, NULL, i);

    if (saved == (size_t)-1)
      return INTEG_ENOMEM;
    if (at_secret(paths, p)
            ? json_array_set_new(v, i, json_string(SECRETS_MARK))
            : redact_walk(paths, p, e))
      return INTEG_ENOMEM;
    path_pop(p, saved);
  }
  return 0;
}

json_t *secrets_redact_paths(const json_t *paths, const char *path,
                             json_t *value)
{
  struct buf p = BUF_INIT;
  json_t *copy;

  if (!path)
    path = "";
  if (json_object_get(paths, path))
    return json_string(SECRETS_MARK);
  copy = json_deep_copy(value);
  if (!copy)
    return NULL;
  if (buf_appends(&p, path) || redact_walk(paths, &p, copy)) {
    json_decref(copy);
    copy = NULL;
  }
  buf_free(&p);
  return copy;
}

char **secrets_environ(void)
{
  extern char **environ;
  size_t n = 0, k = 0;
  char **out;

  while (environ && environ[n])
    n++;
  out = calloc(n + 1, sizeof(*out));
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');

    /* ${env:NAME} made NAME's value a secret: a child has no need of it
     * (its argv and environment are readable in /proc). */
    if (eq && secrets_found(eq + 1, strlen(eq + 1)))
      continue;
    out[k++] = environ[i];
  }
  return out;
}
