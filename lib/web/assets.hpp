#pragma once
// The page's files (lib/web/assets/), embedded at build time by cmake/embed_assets.cmake.

#include <string_view>
#include <vector>

namespace certq::web {

struct asset {
    std::string_view path; ///< "/index.html", "/app.js", …
    std::string_view content_type;
    std::string_view body;
    std::string_view etag; ///< quoted, from the file's SHA-256
};

const std::vector<asset>& embedded_assets();

/// The asset served at `path` ("/" is /index.html); nullptr when there is none.
inline const asset* find_asset(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const auto& a : embedded_assets())
        if (a.path == path) return &a;
    return nullptr;
}

} // namespace certq::web
