// The one translation unit that compiles Asio, Asio's SSL support and Beast. Everything else
// includes their headers with *_SEPARATE_COMPILATION defined and links this object, which keeps
// a rebuild of any other file from paying for Beast's ~20 s of template instantiation.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
