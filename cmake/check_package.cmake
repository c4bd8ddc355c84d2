# Test: builds the .deb from this build tree and checks what a Debian user gets from it.
#   cmake -DBUILD_DIR=... -DOUT_DIR=... -P check_package.cmake
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
execute_process(COMMAND cpack -G DEB -B "${OUT_DIR}" --config "${BUILD_DIR}/CPackConfig.cmake"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cpack failed:\n${out}")
endif()
file(GLOB debs "${OUT_DIR}/*.deb")
list(LENGTH debs n)
if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected one .deb in ${OUT_DIR}, found ${n}")
endif()
execute_process(COMMAND dpkg-deb -c ${debs} OUTPUT_VARIABLE contents)
foreach(path ./usr/sbin/certqd ./usr/bin/certq ./etc/certq/certqd.yaml ./usr/lib/systemd/system/certqd.service
             ./usr/share/certq/migrations/0001_init.sql ./usr/share/certq/certq-alerts.yaml
             ./usr/share/certq/certq-dashboard.json ./usr/share/doc/certq/README.md)
    string(FIND "${contents}" " ${path}\n" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "the package lacks ${path}:\n${contents}")
    endif()
endforeach()
execute_process(COMMAND dpkg-deb -I ${debs} postinst OUTPUT_VARIABLE postinst)
if(NOT postinst MATCHES "adduser --system --group")
    message(FATAL_ERROR "postinst does not create the service user:\n${postinst}")
endif()

# What postinst does, run with its tools replaced by stubs that log their arguments (nothing is
# installed): on a first install and on an upgrade, where the user already exists, it leaves
# /var/lib/certq to certq:certq, mode 0750; on the first it makes the directory before adduser
# runs, so adduser --no-create-home finds it and does not warn.
set(control "${OUT_DIR}/control")
set(stubs "${OUT_DIR}/postinst-stubs")
execute_process(COMMAND dpkg-deb -e ${debs} "${control}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT EXISTS "${control}/postinst")
    message(FATAL_ERROR "cannot extract postinst from ${debs}")
endif()
file(MAKE_DIRECTORY "${stubs}")
foreach(tool getent adduser install chgrp chmod systemctl)
    # getent answers "no such user" unless CERTQ_USER_EXISTS is set; every other tool succeeds.
    file(WRITE "${stubs}/${tool}"
         "#!/bin/sh\necho \"\${0##*/} $*\" >> \"$POSTINST_LOG\"\n"
         "[ \"\${0##*/}\" != getent ] || [ -n \"$CERTQ_USER_EXISTS\" ]\n")
    file(CHMOD "${stubs}/${tool}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
endforeach()
set(make_state_dir "install -d -m 0750 /var/lib/certq\n")
set(own_state_dir "install -d -o certq -g certq -m 0750 /var/lib/certq\n")
foreach(run first_install upgrade)
    set(log "${OUT_DIR}/postinst-${run}.log")
    file(REMOVE "${log}")
    set(user_exists "")
    set(configured_version "") # dpkg passes the version configured before, none on a first install
    if(run STREQUAL "upgrade")
        set(user_exists 1)
        set(configured_version 1.0)
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E env PATH=${stubs} POSTINST_LOG=${log}
                            CERTQ_USER_EXISTS=${user_exists} /bin/sh "${control}/postinst" configure ${configured_version}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    file(READ "${log}" calls)
    string(FIND "${calls}" "${make_state_dir}" made)
    string(FIND "${calls}" "adduser " added)
    string(FIND "${calls}" "${own_state_dir}" owned)
    if(NOT rc EQUAL 0 OR owned EQUAL -1)
        message(FATAL_ERROR "postinst (${run}) does not leave /var/lib/certq to certq:certq 0750 (exit ${rc}):\n"
                            "${out}\n${calls}")
    endif()
    if(run STREQUAL "first_install" AND (made EQUAL -1 OR added EQUAL -1 OR NOT made LESS added
                                         OR NOT added LESS owned))
        message(FATAL_ERROR "postinst must create /var/lib/certq, then the user, then give it the directory:\n${calls}")
    endif()
    if(run STREQUAL "upgrade" AND NOT added EQUAL -1)
        message(FATAL_ERROR "postinst adds the user again on upgrade:\n${calls}")
    endif()
endforeach()

execute_process(COMMAND dpkg-deb -I ${debs} conffiles OUTPUT_VARIABLE conffiles)
if(NOT conffiles MATCHES "/etc/certq/certqd.yaml")
    message(FATAL_ERROR "the configuration is not a conffile")
endif()
execute_process(COMMAND dpkg-deb -f ${debs} Depends OUTPUT_VARIABLE depends)
foreach(dep adduser libsqlite3 libc-ares2 libsystemd0 libssl3)
    string(FIND "${depends}" "${dep}" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "Depends lacks ${dep}: ${depends}")
    endif()
endforeach()
message(STATUS "package ok: ${debs}")
