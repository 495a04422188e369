#include "report/http_head.h"

#include <gtest/gtest.h>

#include "report/http_server.h"

namespace gpuhost::testing {
namespace {

using report::CheckHead;

TEST(HttpHeadTest, AcceptsAPlainHeadAndDropsRanges) {
  report::HttpLimits l;
  auto c = CheckHead("GET / HTTP/1.1\r\nHost: x\r\nrange: bytes=0-1\r\nIf-Range: x\r\n\r\n", l);
  EXPECT_EQ(c.status, 0);
  EXPECT_FALSE(c.has_body);
  EXPECT_EQ(c.head, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(HttpHeadTest, BodiesAreNoticed) {
  report::HttpLimits l;
  EXPECT_FALSE(CheckHead("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", l).has_body);
  EXPECT_TRUE(CheckHead("GET / HTTP/1.1\r\ncontent-length: 5\r\n\r\n", l).has_body);
  EXPECT_TRUE(CheckHead("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", l).has_body);
}

TEST(HttpHeadTest, RefusesWhatParsersDisagreeOn) {
  report::HttpLimits l;
  for (const char* bad :
       {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "GET / HTTP/1.1\r\nA: 1\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nA: 1\nB: 2\r\n\r\n", "GET / HTTP/1.1\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "GET /\x7f HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nA: \x01\r\n\r\n"}) {
    EXPECT_EQ(CheckHead(bad, l).status, 400) << bad;
  }
}

TEST(HttpHeadTest, CountsHeaders) {
  report::HttpLimits l;
  l.max_headers = 2;
  EXPECT_EQ(CheckHead("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", l).status, 0);
  EXPECT_EQ(CheckHead("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l).status, 431);
}

TEST(HttpHeadTest, StatusOfAResponse) {
  EXPECT_EQ(report::StatusOf("HTTP/1.1 405 Method Not Allowed\r\n"), 405);
  EXPECT_EQ(report::StatusOf("garbage"), 0);
  EXPECT_STREQ(report::ReasonPhrase(431), "Request Header Fields Too Large");
}

}  // namespace
}  // namespace gpuhost::testing
