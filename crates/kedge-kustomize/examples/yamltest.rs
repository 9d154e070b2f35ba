//! Scratch check of YAML parsing (development aid).
fn main() {
    let s = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let nodes = kedge_yaml::parse_stream(&s, &kedge_yaml::Limits::default());
    match nodes {
        Ok(n) => {
            for x in n {
                println!("{}", kedge_yaml::to_value(&x).map(|v| v.to_string()).unwrap_or_else(|e| e.to_string()));
            }
        }
        Err(e) => println!("ERR {e}"),
    }
}
