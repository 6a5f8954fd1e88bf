//! PyTorch checkpoints as `torch.save` writes them (the zip format of PyTorch ≥ 1.6, `.pt` / `.pth`).
//!
//! Such a file is a zip archive `<name>/data.pkl`, `<name>/data/<key>`, …: `data.pkl` is a pickle program that
//! builds the saved object, and each tensor in it points at a storage whose raw bytes are the entry `data/<key>`.
//! This module runs the pickle program on a small stack machine that knows the opcodes `torch.save` emits
//! (protocol 2 by default, 4 with `pickle_protocol=4`) and the globals that rebuild tensors, and nothing else: no
//! code is ever executed, and any other global (an optimiser class, a dataclass) is kept as an opaque value. Out
//! comes the state dict: the object itself when it maps names to tensors, else the one such dict among its values
//! (a training checkpoint's `"state_dict"` or `"model"` entry).
//!
//! The memo holds copies, not shared references: a container fetched from the memo is read as it was when it
//! was memoised. `torch.save` state dicts share only tensors, storages, globals and strings, which never change.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use safetensors::Dtype;

/// A checkpoint problem, as a message for [`crate::Error::WeightFile`].
type PtResult<T> = std::result::Result<T, String>;

/// Keys under which training scripts commonly store the model's state dict in a checkpoint, in order of
/// preference when a checkpoint holds several dicts of tensors (a model and its EMA copy, say).
const STATE_DICT_KEYS: [&str; 3] = ["state_dict", "model_state_dict", "model"];

/// The first bytes of a zip archive's first local file header.
pub(crate) const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";

/// The first bytes of a pre-1.6 `torch.save` file: pickle protocol 2, then a LONG1 of 10 bytes (the magic number).
pub(crate) const LEGACY_MAGIC: [u8; 3] = [0x80, 0x02, 0x8a];

/// One tensor of a checkpoint, contiguous in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TorchTensor {
    /// Element type.
    pub dtype: Dtype,
    /// Shape (empty for a 0-d tensor).
    pub shape: Vec<usize>,
    /// The elements' little-endian bytes, `shape.iter().product() · dtype.bitsize() / 8` of them.
    pub data: Vec<u8>,
}

/// Reads the state dict of the checkpoint at `path`: `(name, tensor)` pairs in the file's order.
///
/// # Errors
/// A message naming the problem: not a zip archive, no `data.pkl`, an opcode or storage type this reader does not
/// know, a tensor reaching past its storage, no dict of tensors (or several, none under a conventional key).
pub(crate) fn read_state_dict(path: &Path) -> PtResult<Vec<(String, TorchTensor)>> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a PyTorch zip checkpoint: {e}"))?;
    let pickle_name = archive
        .file_names()
        .find(|name| name.ends_with("data.pkl") && name.matches('/').count() <= 1)
        .ok_or("no data.pkl in the archive")?
        .to_string();
    let prefix = pickle_name.strip_suffix("data.pkl").unwrap_or_default().to_string();
    if let Some(order) = read_entry(&mut archive, &format!("{prefix}byteorder")).ok()
        && order != b"little"
    {
        return Err(format!(
            "byte order `{}` (only little-endian checkpoints are read)",
            String::from_utf8_lossy(&order)
        ));
    }
    let program = read_entry(&mut archive, &pickle_name)?;
    let object = Machine::default().run(&program)?;
    let dict = state_dict(object)?;
    // storages by key: views of one storage (tied or sliced weights) read it once
    let mut storages = std::collections::HashMap::new();
    dict.into_iter()
        .map(|(name, tensor)| {
            if !storages.contains_key(&tensor.storage_key) {
                let bytes = read_entry(&mut archive, &format!("{prefix}data/{}", tensor.storage_key))?;
                storages.insert(tensor.storage_key.clone(), bytes);
            }
            let storage = storages.get(&tensor.storage_key).map_or(&[][..], Vec::as_slice);
            let tensor = tensor
                .materialise(storage)
                .map_err(|e| format!("tensor `{name}`: {e}"))?;
            Ok((name, tensor))
        })
        .collect()
}

/// The bytes of the archive entry `name`.
fn read_entry(archive: &mut zip::ZipArchive<File>, name: &str) -> PtResult<Vec<u8>> {
    let mut entry = archive.by_name(name).map_err(|e| format!("entry `{name}`: {e}"))?;
    // no capacity from the entry's declared size: a damaged header must not become one huge allocation
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format!("entry `{name}`: {e}"))?;
    Ok(bytes)
}

/// The dict of tensors in `object`: `object` itself, else the one among its values (or the first under
/// [`STATE_DICT_KEYS`] when there are several).
fn state_dict(object: Value) -> PtResult<Vec<(String, TensorRef)>> {
    let Value::Dict(entries) = object else {
        return Err(match object {
            Value::Global(module, name) => format!(
                "the checkpoint holds a pickled {module}.{name}, not a dict (a whole module saved with \
                 torch.save(model)?); save model.state_dict() instead"
            ),
            other => format!("the checkpoint holds {}, not a dict", other.kind()),
        });
    };
    if let Some(dict) = tensor_dict(&entries) {
        return Ok(dict);
    }
    let mut candidates: Vec<(String, Vec<(String, TensorRef)>)> = entries
        .iter()
        .filter_map(|(key, value)| match (key, value) {
            (Value::Str(key), Value::Dict(inner)) => tensor_dict(inner).map(|dict| (key.clone(), dict)),
            _ => None,
        })
        .collect();
    match candidates.len() {
        0 => Err("no dict of tensors (a state_dict) in the checkpoint".to_string()),
        1 => Ok(candidates.swap_remove(0).1),
        _ => {
            let names: Vec<&str> = candidates.iter().map(|(key, _)| key.as_str()).collect();
            let chosen = STATE_DICT_KEYS.iter().find_map(|k| names.iter().position(|n| n == k));
            match chosen {
                Some(i) => Ok(candidates.swap_remove(i).1),
                None => Err(format!(
                    "several dicts of tensors ({}), none named {STATE_DICT_KEYS:?}",
                    names.join(", ")
                )),
            }
        }
    }
}

/// `entries` as `(name, tensor)` pairs if it is non-empty and maps strings to tensors only.
fn tensor_dict(entries: &[(Value, Value)]) -> Option<Vec<(String, TensorRef)>> {
    if entries.is_empty() {
        return None;
    }
    entries
        .iter()
        .map(|(key, value)| match (key, value) {
            (Value::Str(name), Value::Tensor(tensor)) => Some((name.clone(), tensor.clone())),
            _ => None,
        })
        .collect()
}

/// A tensor as the pickle describes it: a view (offset, shape, strides, in elements) of a stored buffer.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    dtype: Dtype,
    storage_key: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

impl TensorRef {
    /// Gathers the view's elements from `storage` (the storage's bytes) into row-major order.
    fn materialise(&self, storage: &[u8]) -> PtResult<TorchTensor> {
        let size = self.dtype.bitsize() / 8;
        if self.shape.len() != self.stride.len() {
            return Err(format!("{} sizes but {} strides", self.shape.len(), self.stride.len()));
        }
        let overflow = || "sizes, strides and offset overflow".to_string();
        let count = self
            .shape
            .iter()
            .try_fold(1_usize, |n, &d| n.checked_mul(d))
            .ok_or_else(overflow)?;
        // at most the storage's size up front: a view with zero strides may repeat elements, but its claimed
        // size alone must not reserve memory
        let mut data = Vec::with_capacity(count.checked_mul(size).ok_or_else(overflow)?.min(storage.len()));
        if count > 0 {
            // the view's last element; every other lies between the offset and it
            let last = self
                .shape
                .iter()
                .zip(&self.stride)
                .try_fold(self.offset, |at, (&n, &s)| {
                    (n - 1).checked_mul(s).and_then(|step| at.checked_add(step))
                })
                .ok_or_else(overflow)?;
            if last >= storage.len() / size {
                return Err(format!(
                    "the view reaches element {last} of a storage of {} elements",
                    storage.len() / size
                ));
            }
            let mut index = vec![0_usize; self.shape.len()];
            for _ in 0..count {
                let element = self.offset + index.iter().zip(&self.stride).map(|(i, s)| i * s).sum::<usize>();
                data.extend_from_slice(&storage[element * size..(element + 1) * size]);
                // odometer over the shape, last axis fastest
                for axis in (0..index.len()).rev() {
                    index[axis] += 1;
                    if index[axis] < self.shape[axis] {
                        break;
                    }
                    index[axis] = 0;
                }
            }
        }
        Ok(TorchTensor {
            dtype: self.dtype,
            shape: self.shape.clone(),
            data,
        })
    }
}

/// A value on the pickle machine's stack.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict (or OrderedDict), entries in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A global (`module`, `name`) that is not called here, or the result of calling one this reader does not know.
    Global(String, String),
    /// A persistent reference to a stored buffer: its element type and archive key.
    Storage(Dtype, String),
    Tensor(TensorRef),
    /// The MARK that the next TUPLE, DICT, APPENDS or SETITEMS collects back to.
    Mark,
}

impl Value {
    /// What the value is, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(..) => "an object",
            Value::Storage(..) => "a storage",
            Value::Tensor(_) => "a tensor",
            Value::Mark => "a mark",
        }
    }

    /// The value as a non-negative integer (a size, stride or offset).
    fn index(&self) -> PtResult<usize> {
        match self {
            Value::Int(i) => usize::try_from(*i).map_err(|_| format!("negative size {i}")),
            other => Err(format!("expected an integer, found {}", other.kind())),
        }
    }

    /// The value as a tuple of non-negative integers (a shape or strides).
    fn indices(&self) -> PtResult<Vec<usize>> {
        match self {
            Value::Tuple(items) | Value::List(items) => items.iter().map(Value::index).collect(),
            other => Err(format!("expected a tuple of integers, found {}", other.kind())),
        }
    }
}

/// The element type of a typed storage class of `torch` (`torch.FloatStorage`, …).
fn storage_dtype(name: &str) -> Option<Dtype> {
    Some(match name {
        "DoubleStorage" => Dtype::F64,
        "FloatStorage" => Dtype::F32,
        "HalfStorage" => Dtype::F16,
        "BFloat16Storage" => Dtype::BF16,
        "LongStorage" => Dtype::I64,
        "IntStorage" => Dtype::I32,
        "ShortStorage" => Dtype::I16,
        "CharStorage" => Dtype::I8,
        "ByteStorage" => Dtype::U8,
        "BoolStorage" => Dtype::BOOL,
        _ => return None,
    })
}

/// The pickle machine: its stack (MARKs included) and its memo.
#[derive(Default)]
struct Machine {
    stack: Vec<Value>,
    memo: std::collections::HashMap<u32, Value>,
}

/// A cursor over the program's bytes.
struct Program<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Program<'a> {
    fn take(&mut self, n: usize) -> PtResult<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("data.pkl ends early")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> PtResult<u8> {
        Ok(self.take(1)?[0])
    }

    /// The next `N` bytes as an array (an integer's or float's bytes).
    fn array<const N: usize>(&mut self) -> PtResult<[u8; N]> {
        let mut bytes = [0_u8; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn u32(&mut self) -> PtResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian length of `width` bytes (1, 4 or 8), the prefix of a string or byte string.
    fn length(&mut self, width: u8) -> PtResult<usize> {
        let n = match width {
            1 => u64::from(self.byte()?),
            4 => u64::from(self.u32()?),
            _ => u64::from_le_bytes(self.array()?),
        };
        usize::try_from(n).map_err(|_| format!("a length of {n} bytes"))
    }

    /// A newline-terminated line (GLOBAL's module and name).
    fn line(&mut self) -> PtResult<String> {
        let rest = &self.bytes[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("data.pkl ends inside a GLOBAL")?;
        self.at += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn utf8(&mut self, n: usize) -> PtResult<String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| format!("a string that is not UTF-8: {e}"))
    }
}

impl Machine {
    fn pop(&mut self) -> PtResult<Value> {
        self.stack
            .pop()
            .ok_or_else(|| "data.pkl pops an empty stack".to_string())
    }

    /// The values above the topmost MARK, which is removed.
    fn pop_to_mark(&mut self) -> PtResult<Vec<Value>> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or("data.pkl has no MARK to pop to")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> PtResult<&mut Value> {
        self.stack
            .last_mut()
            .ok_or_else(|| "data.pkl writes to an empty stack".to_string())
    }

    fn memo_get(&self, key: u32) -> PtResult<Value> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("data.pkl reads memo {key}, never written"))
    }

    /// Runs the program to its STOP and returns the object it built.
    fn run(mut self, bytes: &[u8]) -> PtResult<Value> {
        let mut p = Program { bytes, at: 0 };
        loop {
            let op = p.byte()?;
            match op {
                0x80 => {
                    // PROTO: protocol version; 2 to 5 share the opcodes below
                    p.byte()?;
                }
                0x95 => {
                    // FRAME (protocol 4+): a length hint
                    p.take(8)?;
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = p.byte()?;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = u16::from_le_bytes(p.array()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = i32::from_le_bytes(p.array()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n ≤ 8 bytes
                    let n = usize::from(p.byte()?);
                    let b = p.take(n)?;
                    if n > 8 {
                        return Err(format!("an integer of {n} bytes"));
                    }
                    let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        0xff
                    } else {
                        0
                    };
                    let mut le = [fill; 8];
                    le[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(le)));
                }
                b'G' => {
                    let v = f64::from_be_bytes(p.array()?);
                    self.stack.push(Value::Float(v));
                }
                b'X' | 0x8c | 0x8d => {
                    // BINUNICODE; SHORT_BINUNICODE and BINUNICODE8 (protocol 4+)
                    let n = p.length(match op {
                        0x8c => 1,
                        b'X' => 4,
                        _ => 8,
                    })?;
                    let s = p.utf8(n)?;
                    self.stack.push(Value::Str(s));
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    // TUPLE1, TUPLE2, TUPLE3
                    let n = usize::from(op - 0x84);
                    let at = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .ok_or("data.pkl builds a tuple from too few values")?;
                    let items = self.stack.split_off(at);
                    self.stack.push(Value::Tuple(items));
                }
                b'a' => {
                    let item = self.pop()?;
                    self.append(vec![item])?;
                }
                b'e' => {
                    let items = self.pop_to_mark()?;
                    self.append(items)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_to_mark()?;
                    self.set_items(items)?;
                }
                b'q' => {
                    let key = u32::from(p.byte()?);
                    let value = self.top()?.clone();
                    self.memo.insert(key, value);
                }
                b'r' => {
                    let key = p.u32()?;
                    let value = self.top()?.clone();
                    self.memo.insert(key, value);
                }
                0x94 => {
                    // MEMOIZE (protocol 4+)
                    let key = u32::try_from(self.memo.len()).map_err(|_| "memo overflow")?;
                    let value = self.top()?.clone();
                    self.memo.insert(key, value);
                }
                b'h' => {
                    let value = self.memo_get(u32::from(p.byte()?))?;
                    self.stack.push(value);
                }
                b'j' => {
                    let value = self.memo_get(p.u32()?)?;
                    self.stack.push(value);
                }
                b'c' => {
                    let module = p.line()?;
                    let name = p.line()?;
                    self.stack.push(Value::Global(module, name));
                }
                0x93 => {
                    // STACK_GLOBAL (protocol 4+): module and name from the stack
                    match (self.pop()?, self.pop()?) {
                        (Value::Str(name), Value::Str(module)) => self.stack.push(Value::Global(module, name)),
                        _ => return Err("STACK_GLOBAL without a module and a name".to_string()),
                    }
                }
                b'B' | b'C' | 0x8e => {
                    // BINBYTES, SHORT_BINBYTES, BINBYTES8 (protocol 4+): kept opaque
                    let n = p.length(match op {
                        b'C' => 1,
                        b'B' => 4,
                        _ => 8,
                    })?;
                    p.take(n)?;
                    self.stack
                        .push(Value::Global("builtins".to_string(), "bytes".to_string()));
                }
                0x8f => self.stack.push(Value::List(Vec::new())), // EMPTY_SET, read as a list
                0x90 => {
                    // ADDITEMS
                    let items = self.pop_to_mark()?;
                    self.append(items)?;
                }
                0x91 => {
                    // FROZENSET
                    let items = self.pop_to_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'Q' => {
                    // BINPERSID: torch.save's ('storage', storage class, key, location, numel)
                    let id = self.pop()?;
                    self.stack.push(persistent_storage(id)?);
                }
                b'R' | 0x81 | 0x92 => {
                    // REDUCE, NEWOBJ (cls.__new__(cls, *args), which the callables below treat alike) and
                    // NEWOBJ_EX (protocol 4+), whose keyword arguments none of those callables takes
                    if op == 0x92 {
                        self.pop()?;
                    }
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(call(callable, args)?);
                }
                b'b' => {
                    // BUILD: sets an object's state (an OrderedDict's `_metadata`); the tensors do not need it
                    self.pop()?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'2' => {
                    let top = self.top()?.clone();
                    self.stack.push(top);
                }
                b'1' => {
                    self.pop_to_mark()?;
                }
                other => {
                    return Err(format!(
                        "pickle opcode 0x{other:02x} at byte {}, which this reader does not know",
                        p.at - 1
                    ));
                }
            }
        }
    }

    /// APPEND / APPENDS onto the list below.
    fn append(&mut self, items: Vec<Value>) -> PtResult<()> {
        match self.top()? {
            Value::List(list) => {
                list.extend(items);
                Ok(())
            }
            // appending to an opaque object (a deque, say) leaves it opaque
            Value::Global(..) => Ok(()),
            other => Err(format!("data.pkl appends to {}", other.kind())),
        }
    }

    /// SETITEM / SETITEMS onto the dict below: `items` alternate keys and values.
    fn set_items(&mut self, items: Vec<Value>) -> PtResult<()> {
        if items.len() % 2 != 0 {
            return Err("data.pkl sets a key without a value".to_string());
        }
        match self.top()? {
            Value::Dict(dict) => {
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    match dict.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = value,
                        None => dict.push((key, value)),
                    }
                }
                Ok(())
            }
            Value::Global(..) => Ok(()),
            other => Err(format!("data.pkl sets items of {}", other.kind())),
        }
    }
}

/// The storage a BINPERSID id names.
fn persistent_storage(id: Value) -> PtResult<Value> {
    let Value::Tuple(fields) = id else {
        return Err(format!("a persistent id that is {}, not a tuple", id.kind()));
    };
    match fields.as_slice() {
        [Value::Str(kind), Value::Global(module, class), Value::Str(key), ..] if kind == "storage" => {
            match (module.as_str(), storage_dtype(class)) {
                ("torch", Some(dtype)) => Ok(Value::Storage(dtype, key.clone())),
                _ => Err(format!(
                    "storage type {module}.{class}, which this reader does not know"
                )),
            }
        }
        _ => Err("a persistent id that is not torch.save's ('storage', type, key, location, numel)".to_string()),
    }
}

/// REDUCE: `callable(*args)` for the callables a state dict needs; any other call gives an opaque value.
fn call(callable: Value, args: Value) -> PtResult<Value> {
    let Value::Tuple(args) = args else {
        return Err(format!("REDUCE with arguments that are {}, not a tuple", args.kind()));
    };
    let Value::Global(module, name) = callable else {
        return Err(format!("REDUCE calls {}", callable.kind()));
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") if args.is_empty() => Ok(Value::Dict(Vec::new())),
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => match args.as_slice() {
            [Value::Storage(dtype, key), offset, size, stride, ..] => Ok(Value::Tensor(TensorRef {
                dtype: *dtype,
                storage_key: key.clone(),
                offset: offset.index()?,
                shape: size.indices()?,
                stride: stride.indices()?,
            })),
            _ => Err(format!("{name} with arguments this reader does not know")),
        },
        // an nn.Parameter saved whole: _rebuild_parameter(data, requires_grad, backward_hooks)
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => match args.into_iter().next() {
            Some(tensor @ Value::Tensor(_)) => Ok(tensor),
            _ => Err(format!("{name} of something that is not a tensor")),
        },
        _ => Ok(Value::Global(module, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// This crate's checkpoint fixtures (`tests/fixtures/torch_pt/`, written by `make_fixtures.py` there).
    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/torch_pt")
            .join(name)
    }

    /// An IEEE binary16 value, widened exactly.
    fn f16_to_f64(bits: u16) -> f64 {
        let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exponent = i32::from((bits >> 10) & 0x1f);
        let mantissa = f64::from(bits & 0x3ff);
        sign * match exponent {
            0 => mantissa * 2f64.powi(-24),
            31 => f64::INFINITY,
            e => (1.0 + mantissa / 1024.0) * 2f64.powi(e - 15),
        }
    }

    /// The tensor's elements widened to f64 (integers exactly up to 2⁵³), and its dtype as PyTorch names it.
    fn decode(t: &TorchTensor) -> (&'static str, Vec<f64>) {
        let size = t.dtype.bitsize() / 8;
        let name = match t.dtype {
            Dtype::F64 => "float64",
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            Dtype::I64 => "int64",
            Dtype::I32 => "int32",
            Dtype::U8 => "uint8",
            Dtype::BOOL => "bool",
            other => panic!("no fixture tensor has dtype {other:?}"),
        };
        let values = t
            .data
            .chunks_exact(size)
            .map(|b| match t.dtype {
                Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
                Dtype::F32 => f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))),
                Dtype::F16 => f16_to_f64(u16::from_le_bytes([b[0], b[1]])),
                Dtype::BF16 => f64::from(f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)),
                Dtype::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64,
                Dtype::I32 => f64::from(i32::from_le_bytes(b.try_into().expect("4 bytes"))),
                _ => f64::from(b[0]),
            })
            .collect();
        (name, values)
    }

    /// `file`'s state dict against `tensors.json[key]` (written by PyTorch from the same tensors): names in the
    /// saved order, dtypes, shapes and every value exactly.
    fn check_against_pytorch(file: &str, key: &str) {
        let tensors = read_state_dict(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let oracle = asd_testkit::json(fixture("tensors.json"));
        let expected = oracle[key].as_array().expect("the oracle's tensors");
        let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        let expected_names: Vec<&str> = expected.iter().map(|t| t["name"].as_str().expect("name")).collect();
        assert_eq!(names, expected_names, "{file}");
        for ((name, tensor), want) in tensors.iter().zip(expected) {
            let (dtype, values) = decode(tensor);
            assert_eq!(dtype, want["dtype"], "{file}: {name}");
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("size") as usize)
                .collect();
            assert_eq!(tensor.shape, shape, "{file}: {name}");
            let want: Vec<f64> = want["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_f64().expect("number"))
                .collect();
            assert_eq!(values, want, "{file}: {name}");
        }
    }

    /// Criterion: every tensor of a checkpoint dict (`{"state_dict": …, "epoch": 7, …}`) comes out with PyTorch's
    /// dtype, shape and values, in the saved order: eight dtypes, a 0-d and an empty tensor, a transposed view and
    /// two views of one storage; the state dict's `_metadata` (restored by BUILD) is passed over.
    #[test]
    fn checkpoint_tensors_match_pytorch() {
        check_against_pytorch("tensors.pt", "tensors");
    }

    /// Criterion: a training script's checkpoint (model, Adam state, scheduler, torch / numpy / Python RNG states,
    /// a set and bytes among the arguments) gives its model's state dict, pickled with protocol 2 or 4.
    #[test]
    fn training_checkpoint_gives_the_model() {
        check_against_pytorch("checkpoint.pt", "checkpoint");
        check_against_pytorch("checkpoint4.pt", "checkpoint");
    }

    /// Criterion: the same state dict pickled with protocol 4 (STACK_GLOBAL, MEMOIZE, FRAME) reads the same.
    #[test]
    fn protocol_4_reads_the_same() {
        let two = read_state_dict(&fixture("tensors.pt")).unwrap_or_else(|e| panic!("{e}"));
        let four = read_state_dict(&fixture("proto4.pt")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(two, four);
    }

    /// Criterion: a bare state dict is taken as it is, and the reader refuses what it cannot read with a message,
    /// never a panic: every truncation of a real `data.pkl`, a file that is not a zip, a zip without `data.pkl`.
    #[test]
    fn damaged_checkpoints_are_errors() {
        let asdnet = read_state_dict(&fixture("asdnet.pt")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asdnet.len(), 19);
        assert!(
            asdnet
                .iter()
                .any(|(name, t)| name == "convs.0.weight" && t.shape == [128, 1, 9])
        );

        let file = File::open(fixture("tensors.pt")).expect("fixture");
        let mut archive = zip::ZipArchive::new(file).expect("zip");
        let program = read_entry(&mut archive, "tensors/data.pkl").expect("data.pkl");
        for end in 0..program.len() {
            let result = Machine::default().run(&program[..end]);
            assert!(result.is_err(), "a program cut at byte {end} of {} ran", program.len());
        }
        let mut flipped = program.clone();
        flipped[74] = 0xff; // the GLOBAL of the first _rebuild_tensor_v2
        let err = Machine::default().run(&flipped).expect_err("unknown opcode");
        assert!(err.contains("opcode 0xff"), "{err}");

        let err = read_state_dict(&fixture("legacy.pt")).expect_err("not a zip");
        assert!(err.contains("not a PyTorch zip checkpoint"), "{err}");
        let err = read_state_dict(&fixture("tensors.json")).expect_err("not a zip");
        assert!(err.contains("not a PyTorch zip checkpoint"), "{err}");
    }

    /// Criterion: the state dict is found where training scripts put it, and a checkpoint with several
    /// candidates and none under a conventional key is refused naming them.
    #[test]
    fn state_dict_is_found_in_a_checkpoint() {
        let tensor = |key: &str| {
            Value::Tensor(TensorRef {
                dtype: Dtype::F32,
                storage_key: key.to_string(),
                offset: 0,
                shape: vec![1],
                stride: vec![1],
            })
        };
        let dict = |entries: Vec<(&str, Value)>| {
            Value::Dict(
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::Str(k.to_string()), v))
                    .collect(),
            )
        };
        let keys = |found: PtResult<Vec<(String, TensorRef)>>| -> Vec<String> {
            found
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        let model = || dict(vec![("fc.weight", tensor("0"))]);
        let ema = || dict(vec![("fc.weight", tensor("1")), ("fc.bias", tensor("2"))]);
        let optimizer = || dict(vec![("state", dict(vec![("0", dict(vec![("exp_avg", tensor("3"))]))]))]);

        assert_eq!(keys(state_dict(model())), ["fc.weight"]);
        let one = dict(vec![
            ("net", model()),
            ("optimizer", optimizer()),
            ("epoch", Value::Int(3)),
        ]);
        assert_eq!(keys(state_dict(one)), ["fc.weight"]);
        let two = dict(vec![("ema", ema()), ("model", model())]);
        assert_eq!(keys(state_dict(two)), ["fc.weight"]);
        let err = state_dict(dict(vec![("a", model()), ("b", ema())])).expect_err("ambiguous");
        assert!(err.contains("a, b"), "{err}");
        let err = state_dict(dict(vec![("epoch", Value::Int(3))])).expect_err("no tensors");
        assert!(err.contains("no dict of tensors"), "{err}");
        let err = state_dict(Value::List(vec![])).expect_err("not a dict");
        assert!(err.contains("a list"), "{err}");
        let err = state_dict(Value::Global("__main__".into(), "Net".into())).expect_err("a whole module");
        assert!(
            err.contains("__main__.Net") && err.contains("model.state_dict()"),
            "{err}"
        );
    }

    /// Criterion: a view reaching past its storage is an error naming both sizes, not an out-of-bounds read.
    #[test]
    fn views_past_their_storage_are_errors() {
        let view = TensorRef {
            dtype: Dtype::F32,
            storage_key: "0".to_string(),
            offset: 2,
            shape: vec![2, 2],
            stride: vec![2, 1],
        };
        assert_eq!(view.materialise(&[0; 24]).map(|t| t.data.len()), Ok(16));
        let err = view.materialise(&[0; 20]).expect_err("past the end");
        assert!(err.contains("element 5 of a storage of 5"), "{err}");
        let huge = TensorRef {
            stride: vec![usize::MAX, 1],
            ..view.clone()
        };
        let err = huge.materialise(&[0; 24]).expect_err("overflow");
        assert!(err.contains("overflow"), "{err}");
        let ragged = TensorRef {
            stride: vec![1],
            ..view
        };
        assert!(ragged.materialise(&[0; 24]).is_err());
    }
}
