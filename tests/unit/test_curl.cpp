// The libcurl layer shared by the Engine and S3 clients (util/curl.hpp):
// response heads, error classification, status checks, header lists and
// percent-encoding. None of it opens a connection.
#include "dockform/util/curl.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockform::util {
namespace {

// ---------------------------------------------------------------------------
// Status lines and header lines

TEST(CurlStatusLine, ReadsTheStatusOfEveryHttpVersion) {
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parse_status_line("HTTP/1.0 404 Not Found\r\n"), 404);
  EXPECT_EQ(parse_status_line("HTTP/2 503\r\n"), 503);
  EXPECT_EQ(parse_status_line("HTTP/1.1 101 UPGRADED\r\nContent-Type: x\r\n\r\n"), 101);
}

TEST(CurlStatusLine, OtherLinesAreNotStatusLines) {
  EXPECT_EQ(parse_status_line("Content-Length: 5\r\n"), std::nullopt);
  EXPECT_EQ(parse_status_line("\r\n"), std::nullopt);
  EXPECT_EQ(parse_status_line(""), std::nullopt);
  EXPECT_EQ(parse_status_line("http/1.1 200 OK"), std::nullopt);
}

TEST(CurlStatusLine, AStatusLineWithoutANumberGivesZero) {
  EXPECT_EQ(parse_status_line("HTTP/1.1\r\n"), 0);
  EXPECT_EQ(parse_status_line("HTTP/1.1 OK\r\n"), 0);
}

TEST(CurlHeaderLine, LowerCasesTheNameAndTrimsTheValue) {
  auto header = parse_header_line("Content-Length: 1234\r\n");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->first, "content-length");
  EXPECT_EQ(header->second, "1234");
  EXPECT_EQ(parse_header_line("ETag:\"abc\"\n")->second, "\"abc\"");
  EXPECT_EQ(parse_header_line("Api-Version:   1.43  \r\n")->second, "1.43");
}

TEST(CurlHeaderLine, TabsAroundTheValueAreBlanksToo) {
  // The Engine's own parser kept a leading tab (only the S3 one removed it).
  EXPECT_EQ(parse_header_line("X-Test:\t value\t\r\n")->second, "value");
}

TEST(CurlHeaderLine, OnlyTheFirstColonSeparates) {
  auto header = parse_header_line("Location: http://host:2375/x\r\n");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->first, "location");
  EXPECT_EQ(header->second, "http://host:2375/x");
}

TEST(CurlHeaderLine, EmptyValuesAndLinesWithoutAColon) {
  auto header = parse_header_line("Expect:\r\n");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->first, "expect");
  EXPECT_EQ(header->second, "");
  EXPECT_EQ(parse_header_line("\r\n"), std::nullopt);
  EXPECT_EQ(parse_header_line("HTTP/1.1 200 OK\r\n"), std::nullopt);
}

TEST(CurlResponseHead, KeepsTheFinalStatusAndEveryHeader) {
  ResponseHead head;
  for (const char* line : {"HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 200 OK\r\n", "Api-Version: 1.43\r\n",
                           "Content-Type: application/json\r\n", "\r\n"}) {
    head.add_line(line);
  }
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.size(), 2u);
  EXPECT_EQ(head.headers["api-version"], "1.43");
  EXPECT_EQ(head.headers["content-type"], "application/json");
}

TEST(CurlResponseHead, ARepeatedHeaderKeepsItsLastValue) {
  ResponseHead head;
  head.add_line("HTTP/1.1 200 OK\r\n");
  head.add_line("ETag: \"one\"\r\n");
  head.add_line("etag: \"two\"\r\n");
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(head.headers["etag"], "\"two\"");
}

// ---------------------------------------------------------------------------
// Errors and statuses

TEST(CurlErrors, NetworkFailuresAreConnectionFailuresAndTransient) {
  for (CURLcode code : {CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR,
                        CURLE_RECV_ERROR, CURLE_GOT_NOTHING}) {
    EXPECT_TRUE(is_connection_failure(code)) << curl_easy_strerror(code);
    EXPECT_TRUE(is_transient(code)) << curl_easy_strerror(code);
    EXPECT_FALSE(is_tls_failure(code)) << curl_easy_strerror(code);
  }
}

TEST(CurlErrors, ACutBodyAndABrokenHandshakeAreWorthARetry) {
  EXPECT_TRUE(is_transient(CURLE_PARTIAL_FILE));
  EXPECT_FALSE(is_connection_failure(CURLE_PARTIAL_FILE));
  EXPECT_TRUE(is_transient(CURLE_SSL_CONNECT_ERROR));
  EXPECT_TRUE(is_tls_failure(CURLE_SSL_CONNECT_ERROR));
}

TEST(CurlErrors, RefusedCertificatesAreTlsFailuresNotTransient) {
  for (CURLcode code : {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
                        CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED}) {
    EXPECT_TRUE(is_tls_failure(code)) << curl_easy_strerror(code);
    EXPECT_FALSE(is_transient(code)) << curl_easy_strerror(code);
    EXPECT_FALSE(is_connection_failure(code)) << curl_easy_strerror(code);
  }
}

TEST(CurlErrors, EverythingElseIsNeither) {
  for (CURLcode code : {CURLE_OK, CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR, CURLE_URL_MALFORMAT,
                        CURLE_OUT_OF_MEMORY, CURLE_WEIRD_SERVER_REPLY, CURLE_UNSUPPORTED_PROTOCOL}) {
    EXPECT_FALSE(is_transient(code)) << curl_easy_strerror(code);
    EXPECT_FALSE(is_connection_failure(code)) << curl_easy_strerror(code);
    EXPECT_FALSE(is_tls_failure(code)) << curl_easy_strerror(code);
  }
}

TEST(CurlErrors, TheBufferSaysLibcurlsDetailOrTheGenericText) {
  CurlErrorBuffer error;
  EXPECT_EQ(error.describe(CURLE_COULDNT_CONNECT), curl_easy_strerror(CURLE_COULDNT_CONNECT));
  // A transfer to a URL libcurl cannot parse fails before any connection,
  // with its detail in the buffer.
  CurlEasy curl = make_curl_easy();
  set_basic_options(curl.get(), error);
  curl_easy_setopt(curl.get(), CURLOPT_URL, "nosuchscheme://x");
  CURLcode code = curl_easy_perform(curl.get());
  CurlErrorBuffer::detach(curl.get());
  EXPECT_EQ(code, CURLE_UNSUPPORTED_PROTOCOL);
  EXPECT_FALSE(error.describe(code).empty());
  EXPECT_NE(error.describe(code), curl_easy_strerror(code));
}

TEST(CurlStatus, AcceptsOnlyTheListedStatuses) {
  EXPECT_TRUE(status_in(200, {200}));
  EXPECT_TRUE(status_in(404, {204, 200, 404}));
  EXPECT_FALSE(status_in(206, {200}));
  EXPECT_FALSE(status_in(0, {200, 206}));
  EXPECT_FALSE(status_in(200, {}));
}

// ---------------------------------------------------------------------------
// Handles and header lists

TEST(CurlHandles, HandlesAndHeaderListsAreOwned) {
  CurlEasy first = make_curl_easy();
  CurlEasy second = make_curl_easy();
  EXPECT_NE(first.get(), nullptr);
  EXPECT_NE(first.get(), second.get());
  CurlHeaders headers;
  EXPECT_EQ(headers.get(), nullptr);
  headers.add("Expect:");
  headers.add("Content-Type: application/json");
  ASSERT_NE(headers.get(), nullptr);
  EXPECT_STREQ(headers.get()->data, "Expect:");
  ASSERT_NE(headers.get()->next, nullptr);
  EXPECT_STREQ(headers.get()->next->data, "Content-Type: application/json");
  EXPECT_EQ(headers.get()->next->next, nullptr);
}

// ---------------------------------------------------------------------------
// url_encode: the one percent-encoder (the Engine's url_encode and S3's
// uri_encode were two)

TEST(CurlUrlEncode, UnreservedCharactersPassThrough) {
  EXPECT_EQ(url_encode(""), "");
  EXPECT_EQ(url_encode("myapp_data-1.2~x"), "myapp_data-1.2~x");
  EXPECT_EQ(url_encode("ABCxyz0189"), "ABCxyz0189");
  EXPECT_EQ(url_encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~");
}

TEST(CurlUrlEncode, EverythingElseIsPercentEncoded) {
  EXPECT_EQ(url_encode("a b"), "a%20b");
  EXPECT_EQ(url_encode("a/b?c=d&e#f"), "a%2Fb%3Fc%3Dd%26e%23f");
  EXPECT_EQ(url_encode("100%"), "100%25");
  EXPECT_EQ(url_encode(R"({"label":["a=b"]})"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
  EXPECT_EQ(url_encode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(url_encode(std::string("\x00\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(url_encode("+"), "%2B");
  // SigV4 encodes these too (they are reserved or unsafe in RFC 3986).
  EXPECT_EQ(url_encode("!*'()$,;:@[]"), "%21%2A%27%28%29%24%2C%3B%3A%40%5B%5D");
}

TEST(CurlUrlEncode, EveryByteOutsideTheUnreservedSetIsEncoded) {
  for (int c = 0; c < 256; ++c) {
    std::string one(1, static_cast<char>(c));
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    EXPECT_EQ(url_encode(one).size(), unreserved ? 1u : 3u) << "byte " << c;
  }
}

TEST(CurlUrlEncode, SlashesStayInObjectKeysOnly) {
  EXPECT_EQ(url_encode("app/data/2024-01-01T00:00:00Z.tar.zst", true), "app/data/2024-01-01T00%3A00%3A00Z.tar.zst");
  EXPECT_EQ(url_encode("app/data", false), "app%2Fdata");
  EXPECT_EQ(url_encode("a b/c+d", true), "a%20b/c%2Bd");
}

}  // namespace
}  // namespace dockform::util
