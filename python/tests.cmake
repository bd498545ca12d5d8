# The Python binding's tests (python/tests/test_jouleprint.py) under ctest, included from the top
# CMakeLists.txt. They load the shared libjouleprint built here (JOULEPRINT_LIBRARY), run once with
# Debian's /usr/bin/python3 (the interpreter Debian's python3-* packages serve) and once more with
# the `python3` first on PATH when that is another interpreter (pyenv's on the development VM).
# The package is used from the source tree (PYTHONPATH), as `pip install ./python` would install it.

# The binding loads libjouleprint as a shared library: without one (a build of the library as a
# static archive only), there is nothing for it to load and these tests are not registered.
get_target_property(jp_lib_type jouleprint TYPE)
if(NOT jp_lib_type STREQUAL "SHARED_LIBRARY")
  message(STATUS "python binding tests: libjouleprint is not built as a shared library here; not registered")
  return()
endif()

# A library that reports ABI 0: the binding must refuse it with a clear error.
add_library(fake_old_jouleprint SHARED ${CMAKE_SOURCE_DIR}/tests/fake_old_jouleprint.c)

set(JP_PY_INTERPRETERS "")
if(EXISTS /usr/bin/python3)
  list(APPEND JP_PY_INTERPRETERS "debian=/usr/bin/python3")
endif()
find_program(JP_PATH_PYTHON3 python3)
if(JP_PATH_PYTHON3)
  get_filename_component(jp_path_py_real ${JP_PATH_PYTHON3} REALPATH)
  get_filename_component(jp_usr_py_real /usr/bin/python3 REALPATH)
  if(NOT jp_path_py_real STREQUAL jp_usr_py_real)
    list(APPEND JP_PY_INTERPRETERS "path=${JP_PATH_PYTHON3}")
  endif()
endif()

# Under ASan the interpreter is not instrumented: the sanitizer runtimes go first (LD_PRELOAD), and
# the interpreter's own allocations are not checked for leaks.
set(JP_PY_SAN_ENV "")
if(JP_SANITIZE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE jp_asan OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so OUTPUT_VARIABLE jp_ubsan OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(JP_PY_SAN_ENV "LD_PRELOAD=${jp_asan}:${jp_ubsan};ASAN_OPTIONS=detect_leaks=0")
endif()

foreach(entry ${JP_PY_INTERPRETERS})
  string(REPLACE "=" ";" parts ${entry})
  list(GET parts 0 tag)
  list(GET parts 1 interp)
  add_test(NAME python_binding_${tag}
           COMMAND ${interp} -B ${CMAKE_SOURCE_DIR}/python/tests/test_jouleprint.py)
  set_tests_properties(python_binding_${tag} PROPERTIES
    ENVIRONMENT "JOULEPRINT_LIBRARY=$<TARGET_FILE:jouleprint>;JP_CLI=$<TARGET_FILE:jouleprint_cli>;JP_TEST_OLD_LIB=$<TARGET_FILE:fake_old_jouleprint>;PYTHONDONTWRITEBYTECODE=1;${JP_PY_SAN_ENV}"
    TIMEOUT ${JP_TEST_TIMEOUT})
endforeach()

# The README's offline install into a venv over Debian's Python (pip, no build isolation, no index).
if(EXISTS /usr/bin/python3)
  add_test(NAME python_install COMMAND sh ${CMAKE_SOURCE_DIR}/python/tests/install.sh)
  set_tests_properties(python_install PROPERTIES
    ENVIRONMENT "JOULEPRINT_LIBRARY=$<TARGET_FILE:jouleprint>;PIP_DISABLE_PIP_VERSION_CHECK=1;${JP_PY_SAN_ENV}"
    TIMEOUT ${JP_TEST_TIMEOUT})
endif()

# The NumPy example runs and prints its phases (Debian's NumPy; skipped where it is not installed).
if(EXISTS /usr/bin/python3)
  execute_process(COMMAND /usr/bin/python3 -c "import numpy" RESULT_VARIABLE jp_no_numpy OUTPUT_QUIET ERROR_QUIET)
  if(jp_no_numpy EQUAL 0)
    add_test(NAME python_example_numpy
             COMMAND /usr/bin/python3 -B ${CMAKE_SOURCE_DIR}/examples/python/numpy_phases.py --size 200)
    set_tests_properties(python_example_numpy PROPERTIES
      ENVIRONMENT "JOULEPRINT_LIBRARY=$<TARGET_FILE:jouleprint>;${JP_PY_SAN_ENV}"
      PASS_REGULAR_EXPRESSION "  setup .*\n  matmul .*\n  solve .*\n  total "
      TIMEOUT ${JP_TEST_TIMEOUT})
  endif()
endif()
