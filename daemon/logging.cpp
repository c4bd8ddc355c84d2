#include "logging.hpp"

#include "util/time.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace certq {
namespace {

// systemd sets JOURNAL_STREAM to "dev:inode" of the stream it connected; if stderr is that
// stream, the journal adds its own timestamps and reads "<N>" prefixes as priorities.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    struct stat st{};
    if (fstat(fileno(stderr), &st) != 0) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    return dev == static_cast<unsigned long long>(st.st_dev) &&
           ino == static_cast<unsigned long long>(st.st_ino);
}

int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
    }
}

void append_json_string(spdlog::memory_buf_t& out, std::string_view text) {
    out.push_back('"');
    for (unsigned char c : text) {
        switch (c) {
        case '"': out.append(std::string_view("\\\"")); break;
        case '\\': out.append(std::string_view("\\\\")); break;
        case '\n': out.append(std::string_view("\\n")); break;
        case '\r': out.append(std::string_view("\\r")); break;
        case '\t': out.append(std::string_view("\\t")); break;
        default:
            if (c < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", c);
                out.append(std::string_view(esc));
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

// One JSON object per line: {"ts":"…","level":"info","msg":"…"}.
class json_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            msg.time.time_since_epoch());
        dest.append(std::string_view("{\"ts\":"));
        append_json_string(dest, format_iso8601(wall_time{ms}));
        dest.append(std::string_view(",\"level\":"));
        const auto level = spdlog::level::to_string_view(msg.level);
        append_json_string(dest, std::string_view(level.data(), level.size()));
        dest.append(std::string_view(",\"msg\":"));
        append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(std::string_view("}\n"));
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>();
    }
};

class journal_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string prefix = "<" + std::to_string(syslog_priority(msg.level)) + ">";
        dest.append(std::string_view(prefix));
        dest.append(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<journal_formatter>();
    }
};

} // namespace

void setup_logging(const log_config& log) {
    auto logger = spdlog::default_logger();
    if (!logger || logger->name() != "certqd") {
        logger = std::make_shared<spdlog::logger>(
            "certqd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        spdlog::set_default_logger(logger);
    }
    if (log.format == "json") logger->set_formatter(std::make_unique<json_formatter>());
    else if (stderr_is_journal()) logger->set_formatter(std::make_unique<journal_formatter>());
    else logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(spdlog::level::from_str(log.level));
    logger->flush_on(spdlog::level::info);
}

} // namespace certq
