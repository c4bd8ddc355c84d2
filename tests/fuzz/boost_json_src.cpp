// Boost.JSON compiled into the fuzz targets, so the parser itself is instrumented too.
#include <boost/json/src.hpp>
