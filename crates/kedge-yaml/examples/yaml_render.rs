//! Renders a YAML stream file the way `kustomize build` prints resources
//! (parse, convert, emit), for comparing against the real tool by hand.
fn main() {
    let path = std::env::args().nth(1).expect("file");
    let src = std::fs::read_to_string(path).expect("read");
    match kedge_yaml::parse_stream(&src, &kedge_yaml::Limits::default()).and_then(|docs| {
        docs.iter()
            .map(kedge_yaml::to_value)
            .collect::<Result<Vec<_>, _>>()
    }) {
        Ok(values) => print!("{}", kedge_yaml::emit_documents(&values)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
