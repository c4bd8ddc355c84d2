#pragma once
// The completion handler of a detached task (co_spawn): a task that fails logs and the loop goes
// on — a failing row or delivery never takes the daemon down.

#include <spdlog/spdlog.h>

#include <exception>

namespace certq::engine {

struct log_task_failure {
    const char* task; ///< "a row task", "webhook delivery", ...
    void operator()(std::exception_ptr e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("internal error in {}: {}", task, ex.what());
        }
    }
};

} // namespace certq::engine
