# Test: promtool (Debian's prometheus package) checks the alert rules and runs their unit tests.
#   cmake -DPROMTOOL=... -DRULES=... -DRULE_TESTS=... -P check_rules.cmake
if(NOT PROMTOOL)
    message("SKIPPED: promtool is not installed (scripts/setup installs it with Debian's prometheus)")
    return()
endif()
foreach(step "check;rules;${RULES}" "test;rules;${RULE_TESTS}")
    execute_process(COMMAND ${PROMTOOL} ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    list(JOIN step " " shown)
    message("promtool ${shown}:\n${out}")
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "promtool ${shown} failed")
    endif()
endforeach()
