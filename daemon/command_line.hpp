#pragma once
// What certqd and certq share on their command line: exit codes, and parsing followed by
// loading --config with errors that name the file and key.

#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace certq {

enum exit_code { exit_ok = 0, exit_runtime = 1, exit_usage = 2 };

/// Parses argv into `app` (whose --config option writes `config_file`) and loads that file.
/// Returns the configuration, or sets `leave_with` to the exit code after printing why
/// (help and --version exit 0, usage and configuration errors 2).
inline std::optional<config> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& config_file,
                                                const char* program, int& leave_with) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        leave_with = app.exit(e) == 0 ? exit_ok : exit_usage;
        return std::nullopt;
    }
    try {
        return load_config(config_file);
    } catch (const config_error& e) {
        std::cerr << program << ": " << e.what() << "\n";
        leave_with = exit_usage;
        return std::nullopt;
    }
}

} // namespace certq
