/* test_catalog.c - Singer and Airbyte catalogs: selection, fields,
 * replication methods, checks against discover(), state stripping. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"

static json_t *parse(const char *text)
{
  json_error_t jerr;
  json_t *v = json_loads(text, 0, &jerr);

  if (!v)
    fail_msg("bad test JSON at %d:%d: %s", jerr.line, jerr.column, jerr.text);
  return v;
}

/* discover() of a plugin with an incremental and a full-refresh stream. */
static json_t *discovered(void)
{
  return parse(
      "[{\"stream\": \"users\", \"key_properties\": [\"id\"],"
      "  \"replication_key\": \"updated_at\", \"schema\": {"
      "  \"type\": \"object\", \"properties\": {\"id\": {},"
      "  \"updated_at\": {}, \"email\": {}, \"name\": {}}}},"
      " {\"stream\": \"orders\", \"key_properties\": [\"id\"],"
      "  \"schema\": {\"properties\": {\"id\": {}, \"total\": {}}}}]");
}

static struct catalog *singer(const char *text, struct integ_error *err)
{
  json_t *doc = parse(text);
  struct catalog *c = NULL;

  catalog_parse_singer(doc, "cat.json", &c, err);
  json_decref(doc);
  return c;
}

static struct catalog *airbyte(const char *text, struct integ_error *err)
{
  json_t *doc = parse(text);
  struct catalog *c = NULL;

  catalog_parse_airbyte(doc, "cc.json", &c, err);
  json_decref(doc);
  return c;
}

#define USERS_MD(root, props)                                                 \
  "{\"streams\": [{\"tap_stream_id\": \"users\", \"metadata\": ["             \
  "{\"breadcrumb\": [], \"metadata\": " root "}" props "]}]}"

static void singer_selection_follows_selected_then_default(void **state)
{
  struct integ_error err = {0, ""};
  struct catalog *c;

  (void)state;
  c = singer("{\"streams\": ["
             "{\"tap_stream_id\": \"a\", \"metadata\": [{\"breadcrumb\": [],"
             "  \"metadata\": {\"selected\": false, "
             "\"selected-by-default\": true}}]},"
             "{\"tap_stream_id\": \"b\", \"metadata\": [{\"breadcrumb\": [],"
             "  \"metadata\": {\"selected-by-default\": false}}]},"
             "{\"tap_stream_id\": \"c\", \"metadata\": []},"
             "{\"stream\": \"d\", \"selected\": false}]}",
             &err);
  assert_non_null(c);
  assert_false(catalog_selected(c, "a"));
  assert_false(catalog_selected(c, "b"));
  assert_true(catalog_selected(c, "c"));
  assert_false(catalog_selected(c, "d"));
  assert_false(catalog_selected(c, "not-in-catalog"));
  assert_true(catalog_selected(NULL, "anything"));
  catalog_free(c);
}

static void singer_deselected_field_is_dropped_unless_automatic(void **state)
{
  struct integ_error err = {0, ""};
  struct catalog *c;
  const struct catalog_stream *s;
  json_t *rec = parse("{\"id\": 1, \"email\": \"x\", \"name\": \"n\"}");
  json_t *out;
  int nomem;

  (void)state;
  c = singer(USERS_MD("{}", ",{\"breadcrumb\": [\"properties\", \"email\"],"
                            " \"metadata\": {\"selected\": false}},"
                            "{\"breadcrumb\": [\"properties\", \"id\"],"
                            " \"metadata\": {\"selected\": false,"
                            " \"inclusion\": \"automatic\"}},"
                            "{\"breadcrumb\": [\"properties\", \"name\"],"
                            " \"metadata\": {\"inclusion\": "
                            "\"unsupported\"}}"),
             &err);
  assert_non_null(c);
  s = catalog_find(c, "users");
  out = catalog_project(s, rec, &nomem);
  assert_non_null(out);
  assert_int_equal(json_object_size(out), 1);
  assert_non_null(json_object_get(out, "id"));
  /* The plugin's record is untouched. */
  assert_int_equal(json_object_size(rec), 3);
  json_decref(out);
  json_decref(rec);
  catalog_free(c);
}

static void nothing_deselected_means_no_copy(void **state)
{
  struct integ_error err = {0, ""};
  struct catalog *c = singer(USERS_MD("{}", ""), &err);
  json_t *rec = parse("{\"id\": 1}");
  int nomem = 1;

  (void)state;
  assert_null(catalog_project(catalog_find(c, "users"), rec, &nomem));
  assert_int_equal(nomem, 0);
  json_decref(rec);
  catalog_free(c);
}

static void singer_replication_method_is_decided(void **state)
{
  struct integ_error err = {0, ""};
  struct catalog *c;

  (void)state;
  /* valid-replication-keys alone: incremental by its first key. */
  c = singer(USERS_MD("{\"valid-replication-keys\": [\"updated_at\"]}", ""),
             &err);
  assert_true(catalog_find(c, "users")->incremental);
  assert_string_equal(catalog_find(c, "users")->replication_key, "updated_at");
  catalog_free(c);
  c = singer(USERS_MD("{\"valid-replication-keys\": [\"updated_at\"],"
                      " \"replication-method\": \"FULL_TABLE\"}",
                      ""),
             &err);
  assert_false(catalog_find(c, "users")->incremental);
  catalog_free(c);
  c = singer(USERS_MD("{\"forced-replication-method\": \"FULL_TABLE\"}", ""),
             &err);
  assert_false(catalog_find(c, "users")->incremental);
  catalog_free(c);
  c = singer(USERS_MD("{\"replication-method\": \"LOG_BASED\"}", ""), &err);
  assert_null(c);
  assert_int_equal(err.code, INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "streams[0].metadata[0].metadata."
                                      "replication-method: 'LOG_BASED'"));
}

static void singer_errors_carry_the_key_path(void **state)
{
  struct integ_error err = {0, ""};

  (void)state;
  assert_null(singer(USERS_MD("{\"selected\": 1}", ""), &err));
  assert_string_equal(err.message, "catalog cat.json: streams[0].metadata[0]"
                                   ".metadata.selected: expected true or "
                                   "false");
  assert_null(singer("{\"streams\": [{\"metadata\": []}]}", &err));
  assert_non_null(strstr(err.message, "streams[0].tap_stream_id: expected"));
  assert_null(singer("{\"streams\": {}}", &err));
  assert_non_null(strstr(err.message, "cat.json: streams: expected"));
  assert_null(singer(USERS_MD("{}", ",{\"breadcrumb\": [\"x\"], "
                                    "\"metadata\": {}}"),
                     &err));
  assert_non_null(strstr(err.message, "streams[0].metadata[1].breadcrumb"));
  assert_null(singer("{\"streams\": [{\"stream\": \"a\"}, "
                     "{\"stream\": \"a\"}]}",
                     &err));
  assert_non_null(strstr(err.message, "streams[1].tap_stream_id: stream 'a' "
                                      "is named twice"));
}

static void airbyte_configured_catalog_is_read(void **state)
{
  struct integ_error err = {0, ""};
  struct catalog *c;

  (void)state;
  c = airbyte("{\"streams\": [{\"stream\": {\"name\": \"users\"},"
              " \"sync_mode\": \"incremental\", \"cursor_field\": "
              "[\"updated_at\"], \"primary_key\": [[\"id\"]],"
              " \"destination_sync_mode\": \"append_dedup\"},"
              " {\"stream\": {\"name\": \"orders\"}, \"sync_mode\": "
              "\"full_refresh\", \"destination_sync_mode\": \"overwrite\"}]}",
              &err);
  assert_non_null(c);
  assert_int_equal(c->kind, CATALOG_AIRBYTE);
  assert_true(catalog_find(c, "users")->incremental);
  assert_string_equal(catalog_find(c, "users")->replication_key, "updated_at");
  assert_false(catalog_find(c, "orders")->incremental);
  assert_true(catalog_selected(c, "orders"));
  assert_false(catalog_selected(c, "other"));
  catalog_free(c);
}

static void airbyte_errors_carry_the_key_path(void **state)
{
  struct integ_error err = {0, ""};

  (void)state;
  assert_null(airbyte("{\"streams\": [{\"stream\": {\"name\": \"u\"},"
                      " \"sync_mode\": \"full_refresh\"}]}",
                      &err));
  assert_non_null(strstr(err.message, "streams[0].destination_sync_mode"));
  assert_null(airbyte("{\"streams\": [{\"stream\": {}, \"sync_mode\": "
                      "\"full_refresh\", \"destination_sync_mode\": \"a\"}]}",
                      &err));
  assert_non_null(strstr(err.message, "streams[0].stream.name"));
  assert_null(airbyte("{\"streams\": [{\"stream\": {\"name\": \"u\"},"
                      " \"sync_mode\": \"full_refresh\", "
                      "\"destination_sync_mode\": \"a\","
                      " \"primary_key\": [[\"id\", 3]]}]}",
                      &err));
  assert_non_null(strstr(err.message, "streams[0].primary_key[0][1]: "
                                      "expected a string"));
  assert_null(airbyte("{\"streams\": [{\"stream\": {\"name\": \"u\"},"
                      " \"sync_mode\": \"incremental\", "
                      "\"destination_sync_mode\": \"a\","
                      " \"cursor_field\": [\"a\", \"b\"]}]}",
                      &err));
  assert_non_null(strstr(err.message, "cursor_field: a nested cursor"));
}

static void check_refuses_what_the_plugin_cannot_do(void **state)
{
  struct integ_error err = {0, ""};
  json_t *d = discovered();
  struct catalog *c;

  (void)state;
  c = singer("{\"streams\": [{\"tap_stream_id\": \"nope\"}]}", &err);
  assert_int_equal(catalog_check(c, d, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "streams[0]: the plugin has no stream "
                                      "'nope'"));
  catalog_free(c);
  c = airbyte("{\"streams\": [{\"stream\": {\"name\": \"orders\"},"
              " \"sync_mode\": \"incremental\", \"destination_sync_mode\":"
              " \"append\"}]}",
              &err);
  assert_int_equal(catalog_check(c, d, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "stream 'orders' has no replication "
                                      "key, so it can only be synced in "
                                      "full (sync_mode full_refresh)"));
  catalog_free(c);
  c = airbyte("{\"streams\": [{\"stream\": {\"name\": \"users\"},"
              " \"sync_mode\": \"incremental\", \"cursor_field\": [\"x\"],"
              " \"destination_sync_mode\": \"append\"}]}",
              &err);
  assert_int_equal(catalog_check(c, d, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "streams[0].cursor_field: stream "
                                      "'users' can only be synced "
                                      "incrementally by 'updated_at', not "
                                      "'x'"));
  catalog_free(c);
  c = singer(USERS_MD("{}", ",{\"breadcrumb\": [\"properties\", \"id\"],"
                            " \"metadata\": {\"selected\": false}}"),
             &err);
  assert_int_equal(catalog_check(c, d, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "field 'id' of stream 'users' is a key "
                                      "property"));
  catalog_free(c);
  json_decref(d);
}

static void applied_streams_drop_fields_and_full_refresh_cursors(void **state)
{
  struct integ_error err = {0, ""};
  json_t *d = discovered(), *out, *users;
  struct catalog *c;

  (void)state;
  c = singer(USERS_MD("{\"replication-method\": \"FULL_TABLE\"}",
                      ",{\"breadcrumb\": [\"properties\", \"email\"],"
                      " \"metadata\": {\"selected\": false}}"),
             &err);
  assert_int_equal(catalog_check(c, d, &err), 0);
  out = catalog_apply_streams(c, d);
  assert_non_null(out);
  users = json_array_get(out, 0);
  assert_null(json_object_get(users, "replication_key"));
  assert_null(json_object_get(
      json_object_get(json_object_get(users, "schema"), "properties"),
      "email"));
  /* discover()'s own array is untouched. */
  assert_non_null(json_object_get(
      json_object_get(json_object_get(json_array_get(d, 0), "schema"),
                      "properties"),
      "email"));
  assert_non_null(json_object_get(json_array_get(d, 0), "replication_key"));
  assert_ptr_equal(json_array_get(out, 1), json_array_get(d, 1));
  json_decref(out);
  catalog_free(c);
  json_decref(d);
}

static void full_refresh_streams_lose_their_state(void **state)
{
  struct integ_error err = {0, ""};
  json_t *st = parse("{\"users\": {\"v\": 1}, \"orders\": {\"v\": 2},"
                     " \"other\": {\"v\": 3}}");
  json_t *out;
  struct catalog *c;

  (void)state;
  c = airbyte("{\"streams\": [{\"stream\": {\"name\": \"users\"},"
              " \"sync_mode\": \"incremental\", \"destination_sync_mode\":"
              " \"append\"}, {\"stream\": {\"name\": \"orders\"},"
              " \"sync_mode\": \"full_refresh\", \"destination_sync_mode\":"
              " \"append\"}]}",
              &err);
  out = catalog_strip_state(c, st);
  assert_non_null(json_object_get(out, "users"));
  assert_null(json_object_get(out, "orders"));
  assert_non_null(json_object_get(out, "other"));
  assert_non_null(json_object_get(st, "orders"));
  json_decref(out);
  out = catalog_strip_state(NULL, st);
  assert_ptr_equal(out, st);
  json_decref(out);
  assert_null(catalog_strip_state(c, NULL));
  catalog_free(c);
  json_decref(st);
}

/* discover() -> catalogs: the Singer one in singer-sdk's shape (and read
 * back by catalog_parse_singer), the Airbyte one; a bad element is named. */
static void catalogs_are_built_from_discover(void **state)
{
  struct integ_error err = {0, ""};
  json_t *d = discovered(), *cat = NULL, *users, *bad;
  struct catalog *c = NULL;
  char *text;

  (void)state;
  assert_int_equal(catalog_singer_from_discover(d, &cat, &err), 0);
  users = json_array_get(json_object_get(cat, "streams"), 0);
  text = json_dumps(json_array_get(json_object_get(users, "metadata"), 0),
                    JSON_COMPACT);
  assert_string_equal(
      text, "{\"breadcrumb\":[],\"metadata\":{\"table-key-properties\":"
            "[\"id\"],\"valid-replication-keys\":[\"updated_at\"],"
            "\"inclusion\":\"available\",\"selected-by-default\":true}}");
  free(text);
  assert_string_equal(
      json_string_value(json_object_get(users, "replication_method")),
      "INCREMENTAL");
  assert_int_equal(catalog_parse_singer(cat, "built.json", &c, &err), 0);
  assert_int_equal(c->n, 2);
  assert_true(c->streams[0].incremental);
  assert_false(c->streams[1].incremental);
  catalog_free(c);
  json_decref(cat);
  assert_int_equal(catalog_airbyte_from_discover(d, &cat, &err), 0);
  users = json_array_get(json_object_get(cat, "streams"), 0);
  text =
      json_dumps(json_object_get(users, "supported_sync_modes"), JSON_COMPACT);
  assert_string_equal(text, "[\"full_refresh\",\"incremental\"]");
  free(text);
  json_decref(cat);
  bad = parse("[{\"stream\": \"x\", \"schema\": {}}, {\"stream\": 1}]");
  cat = (json_t *)1;
  assert_int_equal(catalog_singer_from_discover(bad, &cat, &err),
                   INTEG_EPLUGIN);
  assert_null(cat);
  assert_non_null(strstr(err.message, "discover()[1]"));
  assert_int_equal(catalog_airbyte_from_discover(bad, &cat, &err),
                   INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "discover()[1]"));
  json_decref(bad);
  json_decref(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(singer_selection_follows_selected_then_default),
      cmocka_unit_test(singer_deselected_field_is_dropped_unless_automatic),
      cmocka_unit_test(nothing_deselected_means_no_copy),
      cmocka_unit_test(singer_replication_method_is_decided),
      cmocka_unit_test(singer_errors_carry_the_key_path),
      cmocka_unit_test(airbyte_configured_catalog_is_read),
      cmocka_unit_test(airbyte_errors_carry_the_key_path),
      cmocka_unit_test(check_refuses_what_the_plugin_cannot_do),
      cmocka_unit_test(applied_streams_drop_fields_and_full_refresh_cursors),
      cmocka_unit_test(full_refresh_streams_lose_their_state),
      cmocka_unit_test(catalogs_are_built_from_discover),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
