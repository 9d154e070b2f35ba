//! Prints saphyr-parser events with spans, for debugging.
fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).expect("file")).expect("read");
    let mut p = saphyr_parser::Parser::new_from_str(&src);
    while let Some(ev) = p.next_event() {
        match ev {
            Ok((e, s)) => println!("{e:?} {}..{}", s.start.index(), s.end.index()),
            Err(e) => {
                println!("error {e}");
                break;
            }
        }
    }
}
