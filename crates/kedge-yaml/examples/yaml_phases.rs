//! Runs the pipeline on a YAML stream file up to one phase, for profiling:
//! `yaml_phases FILE saphyr|parse|value|emit`.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("file");
    let phase = args.next().unwrap_or_else(|| "emit".to_string());
    let src = std::fs::read_to_string(path).expect("read");
    let t = std::time::Instant::now();
    if phase == "saphyr" {
        let mut n = 0;
        let mut p = saphyr_parser::Parser::new_from_str(&src);
        while let Some(Ok(_)) = p.next_event() {
            n += 1;
        }
        println!("{n} events in {:?}", t.elapsed());
        return;
    }
    let docs = kedge_yaml::parse_stream(&src, &kedge_yaml::Limits::default()).expect("parse");
    if phase == "parse" {
        println!("{} docs in {:?}", docs.len(), t.elapsed());
        return;
    }
    let values: Vec<_> = docs
        .iter()
        .map(|d| kedge_yaml::to_value(d).expect("value"))
        .collect();
    if phase == "value" {
        println!("{} values in {:?}", values.len(), t.elapsed());
        return;
    }
    let out = kedge_yaml::emit_documents(&values);
    println!("{} bytes out in {:?}", out.len(), t.elapsed());
}
