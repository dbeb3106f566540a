/* error.c - the one error value used across the host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "secrets.h"

int error_setv(struct integ_error *err, int code, const char *fmt, va_list ap)
{
  char text[INTEG_ERROR_MAX];
  char *big = NULL;
  va_list again;
  int n;

  if (!err)
    return code;
  err->code = code;
  va_copy(again, ap);
  n = vsnprintf(text, sizeof(text), fmt, ap);
  /* Every message is scrubbed of known secret values as it is made
   * (secrets.h): a provider's echo of a token never reaches a caller.
   * A long message is scrubbed whole before it is cut, so a secret is
   * never cut in half and half shown. */
  if (n < 0)
    err->message[0] = '\0';
  else if ((size_t)n < sizeof(text))
    secrets_scrub_to(text, (size_t)n, err->message, sizeof(err->message));
  else if ((big = malloc((size_t)n + 1)) &&
           vsnprintf(big, (size_t)n + 1, fmt, again) == n)
    secrets_scrub_to(big, (size_t)n, err->message, sizeof(err->message));
  else
    secrets_scrub_to(text, sizeof(text) - 1, err->message,
                     sizeof(err->message));
  va_end(again);
  free(big);
  return code;
}

int error_set(struct integ_error *err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  error_setv(err, code, fmt, ap);
  va_end(ap);
  return code;
}

void error_prefix(struct integ_error *err, const char *fmt, ...)
{
  char prefix[INTEG_ERROR_MAX];
  char old[INTEG_ERROR_MAX];
  va_list ap;

  if (!err)
    return;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  memcpy(old, err->message, sizeof(old));
  error_set(err, err->code, "%s: %s", prefix, old);
}

void error_clear(struct integ_error *err)
{
  if (!err)
    return;
  err->code = INTEG_OK;
  err->message[0] = '\0';
}

const char *error_code_name(int code)
{
  switch (code) {
  case INTEG_OK:
    return "ok";
  case INTEG_EINVAL:
    return "invalid input";
  case INTEG_ENOMEM:
    return "out of memory";
  case INTEG_EIO:
    return "i/o error";
  case INTEG_ECONFIG:
    return "configuration error";
  case INTEG_EPLUGIN:
    return "plugin error";
  case INTEG_EABI:
    return "ABI mismatch";
  case INTEG_ENOTFOUND:
    return "not found";
  case INTEG_EHTTP:
    return "HTTP error";
  case INTEG_ESTATE:
    return "state error";
  case INTEG_EINTR:
    return "interrupted";
  case INTEG_ENOTSUP:
    return "not supported";
  }
  return "unknown error";
}
