#include "app.h"

int main(int argc, char** argv) { return faultline::cli::Main(argc, argv); }
