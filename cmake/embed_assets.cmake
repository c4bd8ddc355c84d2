# Turns lib/web/assets/* into a C++ source so certqd serves its page from the binary: nothing to
# install, nothing fetched from elsewhere, and the page always matches the API it talks to.
# Run as `cmake -P` at build time: -DASSETS_DIR=... -DOUTPUT=...
file(GLOB files RELATIVE "${ASSETS_DIR}" "${ASSETS_DIR}/*")
list(SORT files)
set(body "")
set(index 0)
set(data "")
foreach(name IN LISTS files)
    if(name MATCHES "\\.html$")
        set(type "text/html; charset=utf-8")
    elseif(name MATCHES "\\.js$")
        set(type "text/javascript; charset=utf-8")
    elseif(name MATCHES "\\.css$")
        set(type "text/css; charset=utf-8")
    elseif(name MATCHES "\\.svg$")
        set(type "image/svg+xml")
    else()
        message(FATAL_ERROR "embed_assets: no content type known for ${name}")
    endif()
    file(READ "${ASSETS_DIR}/${name}" text)
    if(text MATCHES "\\)certq_asset\"")
        message(FATAL_ERROR "embed_assets: ${name} contains the raw-string delimiter")
    endif()
    file(SHA256 "${ASSETS_DIR}/${name}" hash)
    string(SUBSTRING "${hash}" 0 20 etag)
    string(APPEND data "constexpr char asset_${index}[] = R\"certq_asset(${text})certq_asset\";\n")
    string(APPEND body "        {\"/${name}\", \"${type}\", {asset_${index}, sizeof asset_${index} - 1}, \"\\\"${etag}\\\"\"},\n")
    math(EXPR index "${index} + 1")
endforeach()
set(content "// Generated from ${ASSETS_DIR} by cmake/embed_assets.cmake. Do not edit.
#include \"web/assets.hpp\"

namespace certq::web {
namespace {
${data}} // namespace

const std::vector<asset>& embedded_assets() {
    static const std::vector<asset> all{
${body}    };
    return all;
}

} // namespace certq::web
")
# Rewritten only when it changed, so an unchanged page recompiles nothing.
if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
    file(WRITE "${OUTPUT}" "${content}")
endif()
