#pragma once

// A Controller on fakes, for the tests of the controller and of the adapters
// around it (the D-Bus adaptor): /proc/sys in a temp dir (tcp_fin_timeout 60,
// tcp_tw_reuse 2), the test's profiles in another (the controller runs "web"),
// the journal in a third, a clock the test moves and a scripted census.

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "fakes/fake_census.hpp"
#include "tcptune/engine/controller.hpp"

namespace tcptune::test {

class ControllerFixture : public ::testing::Test {
  protected:
    ControllerFixture() : store_(proc_.root()) {
        proc_.set("net.ipv4.tcp_fin_timeout", "60");
        proc_.set("net.ipv4.tcp_tw_reuse", "2");
    }

    void write_profile(const std::string& name, const std::string& text) {
        std::ofstream(profiles_.path() / (name + ".yaml")) << text;
    }

    ControllerConfig config(ApplyMode mode = ApplyMode::kEnforce) const {
        ControllerConfig c;
        c.profile = "web";
        c.profile_dirs = {profiles_.path()};
        c.mode = mode;
        c.recent_changes_capacity = 4;
        return c;
    }

    // The gate's cooldown is zero unless a test is about it: the rule engine's
    // own timing is what these tests drive.
    std::unique_ptr<Applier> make_applier(ApplyMode mode = ApplyMode::kEnforce,
                                          std::chrono::seconds key_cooldown = {}) {
        ApplierOptions options;
        options.state_dir = state_.path();
        options.mode = mode;
        options.limits.key_cooldown = key_cooldown;
        return std::make_unique<Applier>(store_, clock_, options);
    }

    // Builds and starts controller_ (reporting to `observer`, when given); the one
    // of the previous call, if any, is destroyed first.
    Controller& start_controller(const ControllerConfig& c, std::chrono::seconds key_cooldown = {},
                                 ControllerObserver* observer = nullptr) {
        controller_.reset();
        applier_ = make_applier(c.mode, key_cooldown);
        controller_ = std::make_unique<Controller>(census_, store_, clock_, *applier_, c);
        if (observer != nullptr) {
            controller_->add_observer(observer);
        }
        auto started = controller_->start();
        EXPECT_TRUE(started.has_value()) << started.error().message;
        return *controller_;
    }

    FakeProcSys proc_;
    TempDir profiles_;
    TempDir state_;
    ProcSysctlStore store_;
    ManualClock clock_;
    FakeCensusSource census_;
    std::unique_ptr<Applier> applier_;
    std::unique_ptr<Controller> controller_;
};

}  // namespace tcptune::test
