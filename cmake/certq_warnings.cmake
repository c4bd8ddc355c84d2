# One interface target carries the project's warnings and sanitizer flags; every certq target
# links it privately so third-party headers keep their own settings.
add_library(certq_warnings INTERFACE)
target_compile_options(certq_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wno-sign-conversion
    # gcc 12 reports Asio's coroutine frame allocator as mismatched new/delete (a false
    # positive: awaitable_frame_base pairs its own operator new and delete).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
    $<$<BOOL:${CERTQ_WERROR}>:-Werror>)
if(CERTQ_SANITIZE)
    target_compile_options(certq_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(certq_warnings INTERFACE -fsanitize=address,undefined)
endif()
