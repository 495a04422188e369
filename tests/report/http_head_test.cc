#include "report/http_head.h"

#include <gtest/gtest.h>

#include "report/http_message.h"
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

TEST(HttpMessageTest, ParsesTheRequestLineAndHeaders) {
  auto r = report::ParseRequest(
      "GET /api/v1/status?x=1 HTTP/1.1\r\nHost: h\r\nAuthorization:  Bearer abc \r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->target, "/api/v1/status?x=1");
  EXPECT_EQ(r->path, "/api/v1/status");
  EXPECT_EQ(r->version, "HTTP/1.1");
  ASSERT_NE(r->Header("authorization"), nullptr);
  EXPECT_EQ(*r->Header("AUTHORIZATION"), "Bearer abc");
  EXPECT_EQ(r->Header("Cookie"), nullptr);
  EXPECT_FALSE(r->WantsClose());
}

TEST(HttpMessageTest, RefusesWhatIsNotAnOriginFormRequest) {
  for (const char* bad : {"GET\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                          "GET http://h/ HTTP/1.1\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n",
                          "GET / HTTP/2.0\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n"}) {
    EXPECT_FALSE(report::ParseRequest(bad).has_value()) << bad;
  }
}

TEST(HttpMessageTest, WhoAsksToClose) {
  auto close = [](const char* head) { return report::ParseRequest(head)->WantsClose(); };
  EXPECT_TRUE(close("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(close("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_TRUE(close("GET / HTTP/1.1\r\nConnection: te, close\r\n\r\n"));
  EXPECT_FALSE(close("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(HttpMessageTest, SerializesAReply) {
  auto reply = report::HttpReply::Text(401, "no\n");
  reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  EXPECT_EQ(report::SerializeReply(reply, false, true, "X-A: b\r\n"),
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nConnection: close\r\nX-A: b\r\nWWW-Authenticate: Bearer\r\n\r\n"
            "no\n");
  // HEAD: the same length, no body.
  EXPECT_EQ(report::SerializeReply(reply, true, false, "").find("no\n"), std::string::npos);
  EXPECT_NE(report::SerializeReply(reply, true, false, "").find("Content-Length: 3\r\n"),
            std::string::npos);
  EXPECT_STREQ(report::ReasonPhrase(431), "Request Header Fields Too Large");
}

}  // namespace
}  // namespace gpuhost::testing
