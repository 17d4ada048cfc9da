fn main() {
    std::process::exit(strata::run(std::env::args_os()));
}
