//! Print scores and reasons for names: `explain MODEL NAME...`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((path, names)) = args.split_first() else {
        eprintln!("usage: explain MODEL NAME...");
        return Ok(());
    };
    let m = trawl_score::Model::load(path)?;
    for n in names {
        match m.explain(n) {
            Ok(e) => println!("{}", serde_json::to_string(&e)?),
            Err(e) => println!("{n}: {e}"),
        }
    }
    Ok(())
}
