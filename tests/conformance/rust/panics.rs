// conformance: expect trap
// Rust on wasm32-wasi aborts on a panic (no unwinding): the panic message
// goes to stderr and the program ends in a trap, even inside catch_unwind.
fn main() {
    println!("before the panic");
    let caught = std::panic::catch_unwind(|| {
        panic!("conformance panic");
    });
    // Not reached: an abort cannot be caught.
    println!("caught: {}", caught.is_err());
    println!("ok");
}
