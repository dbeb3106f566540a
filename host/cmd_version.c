/* cmd_version.c - `integ version`. */
#include "config.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include <string.h>

#include <integ/plugin.h>

#include "cli.h"

int cmd_version(int argc, char **argv)
{
  if (argc > 1 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("Usage: integ version\n"
           "Print the versions of integ, its plugin ABI and the libraries "
           "it runs on.\n");
    return EXIT_OK;
  }
  if (argc > 1)
    return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
  printf("integ %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, INTEG_ABI_MAJOR,
         INTEG_ABI_MINOR);
  printf("libcurl %s, jansson %s, libyaml %s, sqlite %s, %s\n",
         curl_version_info(CURLVERSION_NOW)->version, jansson_version_str(),
         yaml_get_version_string(), sqlite3_libversion(),
         OpenSSL_version(OPENSSL_VERSION));
  return EXIT_OK;
}
