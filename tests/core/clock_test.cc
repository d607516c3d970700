#include "faultline/core/clock.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace faultline::core;
using namespace std::chrono_literals;

TEST_CASE("manual timers fire in deadline order when time advances", "[core][clock]") {
  ManualClock clock;
  const TimePoint start = clock.Now();
  std::vector<int> fired;
  auto a = clock.MakeTimer();
  auto b = clock.MakeTimer();
  auto c = clock.MakeTimer();
  a->ArmAt(start + 30ms, [&] { fired.push_back(3); });
  b->ArmAt(start + 10ms, [&] { fired.push_back(1); });
  c->ArmAt(start + 20ms, [&] {
    fired.push_back(2);
    CHECK(clock.Now() == start + 20ms);
  });
  clock.Advance(15ms);
  CHECK(fired == std::vector<int>{1});
  clock.Advance(100ms);
  CHECK(fired == std::vector<int>{1, 2, 3});
  CHECK(clock.Now() == start + 115ms);
  CHECK_FALSE(a->armed());
}

TEST_CASE("cancelled, re-armed and destroyed timers do not fire", "[core][clock]") {
  ManualClock clock;
  int fired = 0;
  auto a = clock.MakeTimer();
  a->ArmAt(clock.Now() + 10ms, [&] { fired += 1; });
  a->Cancel();
  {
    auto b = clock.MakeTimer();
    b->ArmAt(clock.Now() + 10ms, [&] { fired += 10; });
  }
  auto c = clock.MakeTimer();
  c->ArmAt(clock.Now() + 10ms, [&] { fired += 100; });
  c->ArmAt(clock.Now() + 20ms, [&] { fired += 1000; });
  clock.Advance(15ms);
  CHECK(fired == 0);
  CHECK(clock.pending() == 1);
  clock.Advance(10ms);
  CHECK(fired == 1000);
}

TEST_CASE("a timer may re-arm itself from its callback", "[core][clock]") {
  ManualClock clock;
  int ticks = 0;
  auto timer = clock.MakeTimer();
  std::function<void()> tick = [&] {
    if (++ticks < 5) timer->ArmAt(clock.Now() + 1ms, tick);
  };
  timer->ArmAt(clock.Now() + 1ms, tick);
  while (clock.AdvanceToNext()) {
  }
  CHECK(ticks == 5);
}

TEST_CASE("a polled clock fires what is due when polled, and says when the next is",
          "[core][clock]") {
  PolledClock clock;
  auto due = clock.MakeTimer();
  auto later = clock.MakeTimer();
  int fired = 0;
  CHECK_FALSE(clock.next_deadline());
  later->ArmAt(clock.Now() + std::chrono::hours(1), [&] { fired += 10; });
  due->ArmAt(clock.Now() - std::chrono::seconds(1), [&] { fired += 1; });
  CHECK(*clock.next_deadline() < clock.Now());
  clock.FireDue();
  CHECK(fired == 1);
  CHECK(clock.pending() == 1);
  CHECK(*clock.next_deadline() > clock.Now());
  later->Cancel();
  CHECK_FALSE(clock.next_deadline());
}
