/* test_oauth2.c - PKCE, form encoding and token answers (host/oauth2.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauth2.h"
#include "secrets.h"

static void pkce_challenge_matches_rfc7636_appendix_b(void **state)
{
  char *c =
      oauth2_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

  (void)state;
  assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  free(c);
}

static void random_verifiers_differ_and_are_url_safe(void **state)
{
  char *a = oauth2_random(64), *b = oauth2_random(64);

  (void)state;
  assert_int_equal(strlen(a), 64);
  assert_string_not_equal(a, b);
  assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                             "vwxyz0123456789-._~"),
                   64);
  free(a);
  free(b);
}

static void form_encoding_is_rfc6749_client_secret_basic(void **state)
{
  char *s = oauth2_form_encode("s3cr&t x:y");

  (void)state;
  assert_string_equal(s, "s3cr%26t+x%3Ay");
  free(s);
}

static void authorize_url_carries_challenge_and_state(void **state)
{
  struct oauth2_client c = {0};
  char *u;

  (void)state;
  c.authorize_url = "https://p.example/auth?x=1";
  c.client_id = "id 1";
  c.scopes = "read write";
  u = oauth2_authorize_url(&c, "http://127.0.0.1:9/callback", "st", "ch");
  assert_string_equal(u, "https://p.example/auth?x=1&response_type=code&"
                         "client_id=id%201&redirect_uri=http%3A%2F%2F127.0."
                         "0.1%3A9%2Fcallback&state=st&code_challenge=ch&"
                         "code_challenge_method=S256&scope=read%20write");
  free(u);
}

static void query_param_is_decoded(void **state)
{
  char *v = oauth2_query_param("/cb?code=a%2Fb&state=s+t", "state");
  char *c = oauth2_query_param("/cb?code=a%2Fb&state=s+t", "code");
  char *n = oauth2_query_param("/cb?codex=1", "code");

  (void)state;
  assert_string_equal(c, "a/b");
  assert_string_equal(v, "s+t");
  assert_null(n);
  free(v);
  free(c);
}

static void json_answer_is_read(void **state)
{
  const char *b = "{\"access_token\":\"at-1\",\"token_type\":\"BEARER\","
                  "\"expires_in\":60,\"refresh_token\":\"rt-2\"}";
  struct integ_error err = {0, ""};
  json_t *t = NULL;

  (void)state;
  assert_int_equal(oauth2_parse_token(b, strlen(b), "application/json",
                                      "https://p/token", "rt-1", 1000, &t,
                                      &err),
                   0);
  assert_string_equal(json_string_value(json_object_get(t, "refresh_token")),
                      "rt-2");
  assert_int_equal(json_integer_value(json_object_get(t, "expires_ms")),
                   61000);
  assert_true(secrets_found("x at-1 y", 8));
  json_decref(t);
}

static void form_answer_without_refresh_keeps_the_old_one(void **state)
{
  const char *b = "access_token=at%2B1&token_type=bearer&scope=repo+user";
  struct integ_error err = {0, ""};
  json_t *t = NULL;

  (void)state;
  assert_int_equal(
      oauth2_parse_token(b, strlen(b), "application/x-www-form-urlencoded",
                         "https://p/token", "rt-old", 0, &t, &err),
      0);
  assert_string_equal(json_string_value(json_object_get(t, "access_token")),
                      "at+1");
  assert_string_equal(json_string_value(json_object_get(t, "refresh_token")),
                      "rt-old");
  assert_string_equal(json_string_value(json_object_get(t, "scope")),
                      "repo user");
  assert_null(json_object_get(t, "expires_ms"));
  json_decref(t);
}

static void html_answer_is_invalid_response_naming_the_url(void **state)
{
  const char *b = "<html>log in</html>";
  struct integ_error err = {0, ""};
  json_t *t = NULL;

  (void)state;
  assert_int_equal(oauth2_parse_token(b, strlen(b), "text/html",
                                      "https://p/token", NULL, 0, &t, &err),
                   INTEG_EHTTP);
  assert_null(t);
  assert_non_null(strstr(err.message, "https://p/token: invalid_response"));
}

static void a_mac_token_is_refused(void **state)
{
  const char *b = "{\"access_token\":\"x\",\"token_type\":\"mac\"}";
  struct integ_error err = {0, ""};
  json_t *t = NULL;

  (void)state;
  assert_int_equal(oauth2_parse_token(b, strlen(b), NULL, "https://p/token",
                                      NULL, 0, &t, &err),
                   INTEG_EHTTP);
  assert_non_null(strstr(err.message, "type 'mac'"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pkce_challenge_matches_rfc7636_appendix_b),
      cmocka_unit_test(random_verifiers_differ_and_are_url_safe),
      cmocka_unit_test(form_encoding_is_rfc6749_client_secret_basic),
      cmocka_unit_test(authorize_url_carries_challenge_and_state),
      cmocka_unit_test(query_param_is_decoded),
      cmocka_unit_test(json_answer_is_read),
      cmocka_unit_test(form_answer_without_refresh_keeps_the_old_one),
      cmocka_unit_test(html_answer_is_invalid_response_naming_the_url),
      cmocka_unit_test(a_mac_token_is_refused),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
