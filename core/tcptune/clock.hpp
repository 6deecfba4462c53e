#pragma once

#include <chrono>

namespace tcptune {

// Time is an I/O seam: the rule engine and safety gate take a Clock so tests can
// drive them through hours of load in microseconds.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::chrono::steady_clock::time_point now() const = 0;
    // Wall clock, for journal timestamps and human output only.
    virtual std::chrono::system_clock::time_point wall_now() const = 0;
};

class SystemClock final : public Clock {
  public:
    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::now();
    }
    std::chrono::system_clock::time_point wall_now() const override {
        return std::chrono::system_clock::now();
    }
};

}  // namespace tcptune
