/* test_whsig.c - webhook signatures against signatures made elsewhere:
 * the providers' documented examples, and ones printed by
 * tests/webhook_sign.py (python's hmac, hashlib, base64). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "whsig.h"

struct hdrs {
  const char *kv[16]; /* name, value, ..., NULL */
};

static const char *get(void *ctx, const char *name)
{
  struct hdrs *h = ctx;

  for (size_t i = 0; h->kv[i]; i += 2)
    if (strcasecmp(h->kv[i], name) == 0)
      return h->kv[i + 1];
  return NULL;
}

static int verify(enum whsig_scheme s, const char *secret, struct hdrs *h,
                  const char *body, int64_t now_s, struct whsig_result *res)
{
  struct whsig_config c = {0};
  struct integ_error err = {0};

  c.scheme = s;
  c.secret = secret;
  c.tolerance_ms = 300000;
  return whsig_verify(&c, get, h, body, strlen(body), now_s * 1000, res, &err);
}

/* Expect refusal for reason why; frees res. */
static void refused(int rc, struct whsig_result *res, enum whsig_reason why)
{
  assert_int_equal(rc, INTEG_EINVAL);
  assert_int_equal(res->reason, why);
  whsig_result_free(res);
}

/* The body webhook_sign.py signed for the cases below, at t=1700000000. */
static const char BODY[] = "{\"id\":\"evt_1\",\"type\":\"invoice.paid\","
                           "\"event_id\":\"Ev1\",\"event\":{\"type\":"
                           "\"message\"}}";
static const char TAMPERED[] = "{\"id\":\"evt_1\",\"type\":\"invoice.paid\","
                               "\"event_id\":\"Ev1\",\"event\":{\"type\":"
                               "\"messagE\"}}";
#define T0 1700000000

/* Standard Webhooks' own example (the spec repository's README). */
static void standard_documented_vector(void **state)
{
  struct hdrs h = {{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                    "webhook-timestamp", "1614265330", "webhook-signature",
                    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_STANDARD,
                          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &h,
                          "{\"test\": 2432232314}", 1614265330, &res),
                   0);
  assert_string_equal(res.id, "msg_p5jXN8AQM9LWM0D4loKWxJek");
  whsig_result_free(&res);
}

#define STD_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define STD_WRONG "v1,F0SOjzbC5sTeMR01tOke9r4XgheoNbb19HJEdHLUkMY="
#define STD_RIGHT "v1,fP2Edjs9TxxRI0qd5Y4KphJ2XZnu1n5WEU19uS7qIeA="

static void standard_cases(void **state)
{
  struct hdrs both = {{"webhook-id", "msg_1", "webhook-timestamp",
                       "1700000000", "webhook-signature",
                       STD_WRONG " " STD_RIGHT, NULL}};
  struct hdrs wrong = {{"webhook-id", "msg_1", "webhook-timestamp",
                        "1700000000", "webhook-signature", STD_WRONG, NULL}};
  struct hdrs svix = {{"svix-id", "msg_1", "svix-timestamp", "1700000000",
                       "svix-signature", STD_RIGHT, NULL}};
  struct hdrs noid = {{"webhook-timestamp", "1700000000", "webhook-signature",
                       STD_RIGHT, NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_STANDARD, STD_SECRET, &both, BODY, T0, &res),
                   0);
  assert_string_equal(res.id, "msg_1");
  whsig_result_free(&res);
  assert_int_equal(verify(WHSIG_STANDARD, STD_SECRET, &svix, BODY, T0, &res),
                   0);
  whsig_result_free(&res);
  refused(verify(WHSIG_STANDARD, STD_SECRET, &wrong, BODY, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_STANDARD, "whsec_bm90IHRoZSBzZWNyZXQ=", &both, BODY, T0,
                 &res),
          &res, WHSIG_BAD_SIG);
  refused(verify(WHSIG_STANDARD, STD_SECRET, &both, TAMPERED, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_STANDARD, STD_SECRET, &both, BODY, T0 + 301, &res),
          &res, WHSIG_STALE);
  refused(verify(WHSIG_STANDARD, STD_SECRET, &both, BODY, T0 - 301, &res),
          &res, WHSIG_STALE);
  assert_int_equal(
      verify(WHSIG_STANDARD, STD_SECRET, &both, BODY, T0 + 299, &res), 0);
  whsig_result_free(&res);
  refused(verify(WHSIG_STANDARD, STD_SECRET, &noid, BODY, T0, &res), &res,
          WHSIG_MISSING);
}

/* GitHub's documented example ("Validating webhook deliveries"). */
static void github_documented_vector(void **state)
{
  struct hdrs h = {
      {"X-Hub-Signature-256",
       "sha256="
       "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
       "X-GitHub-Event", "push", "X-GitHub-Delivery", "d1", "Content-Type",
       "application/json", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_GITHUB, "It's a Secret to Everybody", &h,
                          "Hello, World!", T0, &res),
                   0);
  assert_string_equal(res.id, "d1");
  assert_string_equal(res.type, "push");
  assert_null(res.reply);
  whsig_result_free(&res);
}

#define GH_SIG                                                                \
  "sha256=60eca181b19f8b78edc5a21b790ec93f7dcc5ff0a1ebd88f5909c5b464d34b10"

static void github_cases(void **state)
{
  struct hdrs ok = {{"X-Hub-Signature-256", GH_SIG, "X-GitHub-Event", "push",
                     "X-GitHub-Delivery", "d1", "Content-Type",
                     "application/json", NULL}};
  struct hdrs ping = {{"X-Hub-Signature-256", GH_SIG, "X-GitHub-Event", "ping",
                       "X-GitHub-Delivery", "d1", "Content-Type",
                       "application/json", NULL}};
  struct hdrs nosig = {{"X-GitHub-Event", "push", "X-GitHub-Delivery", "d1",
                        "Content-Type", "application/json", NULL}};
  struct hdrs text = {{"X-Hub-Signature-256", GH_SIG, "X-GitHub-Event", "push",
                       "X-GitHub-Delivery", "d1", "Content-Type", "text/plain",
                       NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_GITHUB, "s3cret", &ok, BODY, T0, &res), 0);
  whsig_result_free(&res);
  assert_int_equal(verify(WHSIG_GITHUB, "s3cret", &ping, BODY, T0, &res), 0);
  assert_non_null(res.reply);
  whsig_result_free(&res);
  refused(verify(WHSIG_GITHUB, "s3cret!", &ok, BODY, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_GITHUB, "s3cret", &ok, TAMPERED, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_GITHUB, "s3cret", &nosig, BODY, T0, &res), &res,
          WHSIG_MISSING);
  refused(verify(WHSIG_GITHUB, "s3cret", &text, BODY, T0, &res), &res,
          WHSIG_CONTENT_TYPE);
}

#define ST_WRONG                                                              \
  "v1=17448e8f36c2e6c4de311d35b4e91ef6be178217a835b6f5f472447472d490c6"
#define ST_RIGHT                                                              \
  "v1=f2ca94f332d6a029f5ff579382a66511c2ecf811001256278b1718a25517eb74"
#define ST_V0                                                                 \
  ",v0="                                                                      \
  "00000000000000000000000000000000"                                          \
  "00000000000000000000000000000000"

static void stripe_cases(void **state)
{
  struct hdrs both = {
      {"Stripe-Signature", "t=1700000000," ST_WRONG "," ST_RIGHT ST_V0,
       "Content-Type", "application/json; charset=utf-8", NULL}};
  struct hdrs wrong = {{"Stripe-Signature", "t=1700000000," ST_WRONG ST_V0,
                        "Content-Type", "application/json", NULL}};
  struct hdrs not = {{"Stripe-Signature", ST_RIGHT, "Content-Type",
                      "application/json", NULL}};
  struct hdrs none = {{"Content-Type", "application/json", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_STRIPE, "s3cret", &both, BODY, T0, &res), 0);
  assert_string_equal(res.id, "evt_1");
  assert_string_equal(res.type, "invoice.paid");
  whsig_result_free(&res);
  refused(verify(WHSIG_STRIPE, "s3cret", &wrong, BODY, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_STRIPE, "whsec_s3cret", &both, BODY, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_STRIPE, "s3cret", &both, TAMPERED, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_STRIPE, "s3cret", &both, BODY, T0 + 301, &res), &res,
          WHSIG_STALE);
  refused(verify(WHSIG_STRIPE, "s3cret", &both, BODY, T0 - 301, &res), &res,
          WHSIG_STALE);
  refused(verify(WHSIG_STRIPE, "s3cret", &not, BODY, T0, &res), &res,
          WHSIG_MISSING);
  refused(verify(WHSIG_STRIPE, "s3cret", &none, BODY, T0, &res), &res,
          WHSIG_MISSING);
}

/* Slack's documented example ("Verifying requests from Slack"). */
static void slack_documented_vector(void **state)
{
  struct hdrs h = {
      {"X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature",
       "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
       "Content-Type", "application/x-www-form-urlencoded", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(
      verify(WHSIG_SLACK, "8f742231b10e8888abcd99yyyzzz85a5", &h,
             "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
             "testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
             "U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
             "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%"
             "2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_"
             "id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
             1531420618, &res),
      0);
  assert_string_equal(
      res.id, "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c");
  assert_string_equal(res.type, "/webhook-collect");
  whsig_result_free(&res);
}

#define SL_SIG                                                                \
  "v0=8408129ec3d9a0645f05359d3e871a69a81eba6fea60c115bc60e2d270f4c5db"

static void slack_cases(void **state)
{
  struct hdrs ok = {{"X-Slack-Request-Timestamp", "1700000000",
                     "X-Slack-Signature", SL_SIG, "Content-Type",
                     "application/json", NULL}};
  struct hdrs nots = {
      {"X-Slack-Signature", SL_SIG, "Content-Type", "application/json", NULL}};
  struct hdrs xml = {{"X-Slack-Request-Timestamp", "1700000000",
                      "X-Slack-Signature", SL_SIG, "Content-Type",
                      "application/xml", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_SLACK, "s3cret", &ok, BODY, T0, &res), 0);
  assert_string_equal(res.id, "Ev1");
  assert_string_equal(res.type, "message");
  whsig_result_free(&res);
  refused(verify(WHSIG_SLACK, "s3cre", &ok, BODY, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_SLACK, "s3cret", &ok, TAMPERED, T0, &res), &res,
          WHSIG_BAD_SIG);
  refused(verify(WHSIG_SLACK, "s3cret", &ok, BODY, T0 + 301, &res), &res,
          WHSIG_STALE);
  refused(verify(WHSIG_SLACK, "s3cret", &ok, BODY, T0 - 301, &res), &res,
          WHSIG_STALE);
  refused(verify(WHSIG_SLACK, "s3cret", &nots, BODY, T0, &res), &res,
          WHSIG_MISSING);
  refused(verify(WHSIG_SLACK, "s3cret", &xml, BODY, T0, &res), &res,
          WHSIG_CONTENT_TYPE);
}

static void generic_cases(void **state)
{
  struct hdrs both = {
      {"X-Signature",
       "17448e8f36c2e6c4de311d35b4e91ef6be178217a835b6f5f472447472d490c6,"
       "60eca181b19f8b78edc5a21b790ec93f7dcc5ff0a1ebd88f5909c5b464d34b10",
       "X-Delivery", "msg_1", NULL}};
  struct hdrs sha1 = {{"X-Sig", "sha1=pPD1yRWRDmzJVQ7HGk6R1blWHIo=", NULL}};
  struct whsig_config c = {0};
  struct integ_error err = {0};
  struct whsig_result res;

  (void)state;
  c.scheme = WHSIG_GENERIC;
  c.secret = "s3cret";
  c.id_header = "X-Delivery";
  assert_int_equal(
      whsig_verify(&c, get, &both, BODY, strlen(BODY), 0, &res, &err), 0);
  assert_string_equal(res.id, "msg_1");
  whsig_result_free(&res);
  refused(
      whsig_verify(&c, get, &both, TAMPERED, strlen(TAMPERED), 0, &res, &err),
      &res, WHSIG_BAD_SIG);
  c.id_header = NULL;
  c.id_path = "$.event_id";
  c.header = "X-Sig";
  c.prefix = "sha1=";
  c.base64 = 1;
  c.sha1 = 1;
  assert_int_equal(
      whsig_verify(&c, get, &sha1, BODY, strlen(BODY), 0, &res, &err), 0);
  assert_string_equal(res.id, "Ev1");
  whsig_result_free(&res);
  c.secret = "s3cret2";
  refused(whsig_verify(&c, get, &sha1, BODY, strlen(BODY), 0, &res, &err),
          &res, WHSIG_BAD_SIG);
  c.header = "X-Other";
  refused(whsig_verify(&c, get, &sha1, BODY, strlen(BODY), 0, &res, &err),
          &res, WHSIG_MISSING);
}

static void slack_url_verification_is_answered(void **state)
{
  /* Signed at 1700000000 with s3cret by webhook_sign.py. */
  static const char body[] = "{\"token\":\"t\",\"challenge\":\"ch4ll\","
                             "\"type\":\"url_verification\"}";
  struct hdrs h = {
      {"X-Slack-Request-Timestamp", "1700000000", "X-Slack-Signature",
       "v0=0329876c9ee2b499aa65fe66dcac6c0dc1ac245de885dd0f4389350073f45fc4",
       "Content-Type", "application/json", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_SLACK, "s3cret", &h, body, T0, &res), 0);
  assert_string_equal(res.reply, "ch4ll");
  assert_null(res.id);
  whsig_result_free(&res);
}

/* Signed by python's hmac (see webhook_sign.py's recipes). */
static void github_legacy_sha1_header(void **state)
{
  struct hdrs h = {{"X-Hub-Signature",
                    "sha1=a4f0f5c915910e6cc9550ec71a4e91d5b9561c8a",
                    "X-GitHub-Event", "push", "X-GitHub-Delivery", "d2",
                    "Content-Type", "application/json", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_GITHUB, "s3cret", &h, BODY, T0, &res), 0);
  whsig_result_free(&res);
  refused(verify(WHSIG_GITHUB, "s3cret", &h, TAMPERED, T0, &res), &res,
          WHSIG_BAD_SIG);
}

static void slack_interactivity_payload(void **state)
{
  static const char body[] = "payload=%7B%22type%22%3A%22block_actions%22%2C"
                             "%22trigger_id%22%3A%22123.456.abc%22%7D";
  struct hdrs h = {
      {"X-Slack-Request-Timestamp", "1700000000", "X-Slack-Signature",
       "v0=7bd96b6cd6ce098f5cc738b2ad74b1b27ce6a188e22bfbe35371c54ba5bd414a",
       "Content-Type", "application/x-www-form-urlencoded", NULL}};
  struct whsig_result res;

  (void)state;
  assert_int_equal(verify(WHSIG_SLACK, "s3cret", &h, body, T0, &res), 0);
  assert_string_equal(res.id, "123.456.abc");
  assert_string_equal(res.type, "block_actions");
  whsig_result_free(&res);
}

static void base64_decodes_with_and_without_padding(void **state)
{
  unsigned char out[16];

  (void)state;
  assert_int_equal(whsig_base64_decode("aGk=", 4, out), 2);
  assert_memory_equal(out, "hi", 2);
  assert_int_equal(whsig_base64_decode("aGk", 3, out), 2);
  assert_int_equal(whsig_base64_decode("a$k=", 4, out), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(standard_documented_vector),
      cmocka_unit_test(standard_cases),
      cmocka_unit_test(github_documented_vector),
      cmocka_unit_test(github_cases),
      cmocka_unit_test(stripe_cases),
      cmocka_unit_test(slack_documented_vector),
      cmocka_unit_test(slack_cases),
      cmocka_unit_test(slack_url_verification_is_answered),
      cmocka_unit_test(generic_cases),
      cmocka_unit_test(github_legacy_sha1_header),
      cmocka_unit_test(slack_interactivity_payload),
      cmocka_unit_test(base64_decodes_with_and_without_padding),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
