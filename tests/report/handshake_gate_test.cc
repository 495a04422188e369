// HandshakeGate alone: the limit, one address's share, and the order in
// which waiting connections start as slots come back.
#include "report/handshake_gate.h"

#include <gtest/gtest.h>

namespace gpuhost::testing {
namespace {

using report::HandshakeGate;

TEST(HandshakeGateTest, AtMostTheLimitAndHalfOfItPerAddress) {
  HandshakeGate gate(4);
  EXPECT_EQ(gate.share(), 2);
  EXPECT_TRUE(gate.TryTake("a"));
  EXPECT_TRUE(gate.TryTake("a"));
  EXPECT_FALSE(gate.TryTake("a")) << "a holds its share";
  EXPECT_TRUE(gate.TryTake("b"));
  EXPECT_TRUE(gate.TryTake("b"));
  EXPECT_FALSE(gate.TryTake("c")) << "the limit";
  EXPECT_EQ(gate.in_flight(), 4);
  gate.Give("a");
  EXPECT_FALSE(gate.TryTake("b")) << "b holds its share";
  EXPECT_TRUE(gate.TryTake("c"));
  EXPECT_EQ(gate.peak(), 4);
  for (const char* ip : {"a", "b", "b", "c"}) gate.Give(ip);
  EXPECT_EQ(gate.in_flight(), 0);
  gate.Give("a");  // never taken: changes nothing
  EXPECT_EQ(gate.in_flight(), 0);
  EXPECT_EQ(gate.peak(), 4);
}

TEST(HandshakeGateTest, OddLimitsRoundTheShareUp) {
  EXPECT_EQ(HandshakeGate(1).share(), 1);
  EXPECT_EQ(HandshakeGate(2).share(), 1);
  EXPECT_EQ(HandshakeGate(3).share(), 2);
  EXPECT_EQ(HandshakeGate(8).share(), 4);
  EXPECT_EQ(HandshakeGate(0).limit(), 1);
}

TEST(HandshakeGateTest, WaitersStartOldestFirstPastAddressesAtTheirShare) {
  HandshakeGate gate(2);  // share 1
  ASSERT_TRUE(gate.TryTake("a"));
  ASSERT_TRUE(gate.TryTake("b"));
  gate.Wait(10, "a");
  gate.Wait(11, "c");
  gate.Wait(12, "b");
  EXPECT_EQ(gate.waiting(), 3);
  EXPECT_FALSE(gate.Next()) << "no slot free";
  gate.Give("b");
  auto next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 11) << "10 is a's, and a holds its share";
  EXPECT_EQ(next->ip, "c");
  EXPECT_FALSE(gate.Next()) << "full again";
  gate.Give("a");
  next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 10);
  EXPECT_EQ(gate.in_flight(), 2);
  EXPECT_EQ(gate.waiting(), 1);
  gate.Give("c");
  gate.Give("a");
  next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 12);
  EXPECT_FALSE(gate.Next());
  EXPECT_EQ(gate.waiting(), 0);
  EXPECT_LE(gate.peak(), 2);
}

TEST(HandshakeGateTest, AWaiterThatLeavesIsNotStarted) {
  HandshakeGate gate(1);
  ASSERT_TRUE(gate.TryTake("a"));
  gate.Wait(7, "b");
  gate.Wait(8, "c");
  EXPECT_TRUE(gate.Remove(7));
  EXPECT_FALSE(gate.Remove(7));
  EXPECT_EQ(gate.waiting(), 1);
  gate.Give("a");
  auto next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 8);
  EXPECT_FALSE(gate.Next());
}

// An address at its share with many queued behind it: a slot given back
// goes to the first other address, however far back it waits.
TEST(HandshakeGateTest, ALongQueueOfOneAddressDoesNotHideOthers) {
  HandshakeGate gate(4);
  ASSERT_TRUE(gate.TryTake("a"));
  ASSERT_TRUE(gate.TryTake("a"));
  for (int fd = 100; fd < 400; ++fd) gate.Wait(fd, "a");
  EXPECT_FALSE(gate.Next()) << "two slots free, but a holds its share";
  gate.Wait(400, "b");
  auto next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 400);
  EXPECT_FALSE(gate.Next());
  gate.Give("a");
  next = gate.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fd, 100);
}

}  // namespace
}  // namespace gpuhost::testing
