/* template.h - the templates of declarative connectors: text with
 * placeholders, compiled once and rendered per request.
 *
 *   #DATE# #START# #END#      the window's dates (vars "date", "start",
 *                             "end"; quoted in YAML: a plain # starts a
 *                             comment)
 *   ${config.x} ${state.x} ${stream.x} ${parent.x} ${page.next}
 *                             a value of vars[namespace], dotted keys
 *   ${env:X} ${file:X}        a secret reference (host/secrets.c); the
 *                             value is remembered as a secret: redacted
 *   $${                       a literal "${"
 *
 * A variable may go through filters: ${config.q | urlencode},
 * ${state.since | date:%Y-%m-%d}, ${config.n | default:10}.
 */
#ifndef INTEG_HOST_TEMPLATE_H
#define INTEG_HOST_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

struct template;

/* Compile len bytes of text. known (borrowed, may be NULL: anything goes)
 * says which namespaces the template may name: known[ns] is true (any
 * key) or an object whose keys are the only first keys allowed (the
 * connector's config, say). A namespace not in known, a key not in its
 * object, an unknown filter or a bad date format is INTEG_EINVAL with err
 * naming the 1-based character of the template where it starts. *out is
 * new (template_free). Returns 0, INTEG_EINVAL or INTEG_ENOMEM. */
int template_compile(const char *text, size_t len, json_t *known,
                     struct template **out, struct integ_error *err);

/* Render with vars (borrowed: {"config": {...}, "state": {...}, ...,
 * "date": "...", "start": "...", "end": "..."}); base is the file secret
 * references are relative to (may be NULL). *out is a new string (free
 * with free()). A variable without a value and without default: is
 * INTEG_EINVAL naming it. Whether the result holds a secret goes in
 * *secret when secret is not NULL. Returns 0, INTEG_EINVAL,
 * INTEG_ECONFIG (a secret reference that cannot be read) or
 * INTEG_ENOMEM. */
int template_render(const struct template *t, json_t *vars, const char *base,
                    char **out, int *secret, struct integ_error *err);

/* Whether the template is plain text (no placeholder at all). */
int template_is_literal(const struct template *t);

void template_free(struct template *t);

#endif
