#pragma once
// Azion API v4 certificate types and their JSON mapping. Parsing never throws: API bodies are
// untrusted input, and a malformed one is a failed call, not a crashed daemon.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certq::azion {

/// What certq makes of a certificate's `status` (compared without case; unknown values mean
/// "not finished yet", as the enum is marked extensible).
enum class certificate_status { pending, active, failed, expired };

struct certificate {
    std::int64_t id = 0;
    std::string name;
    std::string status; // as Azion wrote it
    std::string status_detail;
    std::optional<std::string> validity;
    std::optional<std::string> renewed_at;
    std::vector<std::string> subject_name;

    certificate_status kind() const;
};

certificate_status classify_status(std::string_view status);

/// Azion's times (`validity`, `renewed_at`): `2028-03-24 20:09:00-03:00`, or ISO 8601 with `T`,
/// fractions and `Z`. nullopt for anything else.
std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_time(std::string_view text);

struct certificate_request {
    std::string name;
    std::string common_name;
    std::vector<std::string> alternative_names;
    std::string challenge = "http";
    std::string authority = "lets_encrypt";
    std::string key_algorithm; // omitted when empty
};

/// One entry of Azion's `{"errors": [...]}`.
struct api_error_item {
    std::string status;
    std::string code;
    std::string title;
    std::string detail;
    std::string pointer; // source.pointer, e.g. /data/common_name
    std::optional<std::int64_t> existing_certificate; // meta.certificate
};

struct certificate_page {
    std::vector<certificate> results;
    std::int64_t count = 0;
    std::optional<std::string> next; // URL of the next page, if any
};

/// A workload (`/workspace/workloads/{id}`): the hostnames it serves and the one certificate
/// it serves them with (none: Azion's default certificate, which covers no customer name).
struct workload {
    std::int64_t id = 0;
    std::string name;
    std::vector<std::string> domains;
    std::optional<std::int64_t> certificate; // tls.certificate
};

/// A PATCH of a workload: only what is set is sent (PatchedWorkloadRequest).
struct workload_patch {
    std::optional<std::vector<std::string>> domains;
    bool set_certificate = false;
    std::optional<std::int64_t> certificate; ///< with set_certificate: the id, or null
};

/// A workload as answered, and whether the change is still being applied (202, state pending:
/// read it again to see the result).
struct workload_answer {
    workload current;
    bool pending = false;
};

/// The request body as JSON text.
std::string to_json(const certificate_request& request);
std::string to_json(const workload_patch& patch);

/// `{"state": ..., "data": {workload}}` → workload. Sets ec (bad_response) on anything that
/// does not carry a workload with an id.
std::optional<workload_answer> parse_workload_response(std::string_view body, boost::system::error_code& ec);

/// `{"state": ..., "data": {certificate}}` → certificate. Sets ec (bad_response) on anything
/// that does not carry a certificate with an id.
std::optional<certificate> parse_certificate_response(std::string_view body,
                                                      boost::system::error_code& ec);

/// A paginated list. Entries without an id are skipped rather than failing the page.
std::optional<certificate_page> parse_certificate_page(std::string_view body,
                                                       boost::system::error_code& ec);

/// The `errors` array of an error body; empty when the body is not Azion's error shape.
std::vector<api_error_item> parse_errors(std::string_view body);

/// One line for a person: `Throttled: Request was throttled. (/data/common_name)`; joins several
/// errors with "; ". Falls back to a prefix of the raw body, made printable.
std::string describe_errors(const std::vector<api_error_item>& errors, std::string_view body);

} // namespace certq::azion
