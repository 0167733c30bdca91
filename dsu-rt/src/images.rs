//! Which version's image an address lies in: so that a message can say which release's code
//! began a transaction, not only the file and line its source has in every release.

use parking_lot::Mutex;

/// The images named so far: each one's base address and the release it is.
static NAMED: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());

/// The base address of the image that holds `address`, as the dynamic loader knows it.
pub(crate) fn base_of(address: *const ()) -> Option<usize> {
    #[cfg(not(miri))]
    {
        let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
        // SAFETY: `dladdr` only reads the loader's tables and writes `info`, which is large
        // enough; an address in no image returns 0 and leaves nothing to read.
        let found = unsafe { libc::dladdr(address.cast(), info.as_mut_ptr()) } != 0;
        // SAFETY: `dladdr` filled `info` in when it returned non-zero.
        let base = found.then(|| unsafe { info.assume_init() }.dli_fbase as usize);
        base.filter(|&base| base != 0)
    }
    #[cfg(miri)]
    {
        let _ = address;
        None
    }
}

/// Names the image that holds `address` after `release` (its `name@version`).
pub(crate) fn name(address: *const (), release: &str) {
    if let Some(base) = base_of(address) {
        let mut named = NAMED.lock();
        named.retain(|(known, _)| *known != base);
        named.push((base, release.to_owned()));
    }
}

/// The release of the image that holds `address`, if it was named.
pub(crate) fn release_of(address: *const ()) -> Option<String> {
    let base = base_of(address)?;
    NAMED.lock().iter().find(|(known, _)| *known == base).map(|(_, release)| release.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "miri has no dladdr")]
    fn an_address_is_known_by_its_image() {
        static HERE: u8 = 0;
        let here = std::ptr::from_ref(&HERE).cast::<()>();
        assert!(base_of(here).is_some());
        assert_eq!(release_of(std::ptr::null()), None);
        name(here, "dsu-rt@test");
        let code = an_address_is_known_by_its_image as *const ();
        assert_eq!(release_of(code).as_deref(), Some("dsu-rt@test"), "one image, data and code");
    }
}
