# Turns migrations/NNNN_name.sql into a C++ source so the daemon carries its own schema: a packaged
# binary never depends on finding the .sql files at run time. Run as `cmake -P` at build time.
#   -DMIGRATIONS_DIR=... -DOUTPUT=... [-DFUNCTION=embedded_migrations]
if(NOT FUNCTION)
    set(FUNCTION embedded_migrations)
endif()
file(GLOB files RELATIVE "${MIGRATIONS_DIR}" "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(name IN LISTS files)
    if(NOT name MATCHES "^([0-9]+)_.*\\.sql$")
        message(FATAL_ERROR "migration file name must be NNNN_description.sql: ${name}")
    endif()
    math(EXPR version "${CMAKE_MATCH_1}")
    file(READ "${MIGRATIONS_DIR}/${name}" sql)
    string(APPEND body "    {${version}, \"${name}\", R\"certq_sql(${sql})certq_sql\"},\n")
endforeach()
set(content "// Generated from ${MIGRATIONS_DIR}/*.sql by cmake/embed_migrations.cmake. Do not edit.
#include \"store/migrations.hpp\"

namespace certq::store {

const std::vector<migration>& ${FUNCTION}() {
    static const std::vector<migration> all{
${body}    };
    return all;
}

} // namespace certq::store
")
if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" old)
else()
    set(old "")
endif()
if(NOT old STREQUAL content)
    file(WRITE "${OUTPUT}" "${content}")
endif()
