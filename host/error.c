/* error.c - the one error value used across the host. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

int error_setv(struct integ_error *err, int code, const char *fmt, va_list ap)
{
  int n;

  if (!err)
    return code;
  err->code = code;
  n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
  if (n < 0)
    err->message[0] = '\0';
  else if ((size_t)n >= sizeof(err->message))
    memcpy(err->message + sizeof(err->message) - 4, "...", 4);
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
