//! `kedge install`: prints the manifests that install Kedge into a cluster
//! (namespace, CRDs, RBAC, the controller Deployment and the `default`
//! project). They are built by kedge-controller from the same code that
//! reads the resources, so the installed schema never drifts from it.

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Namespace of the controller, applications and projects.
    #[arg(long, default_value = "kedge")]
    namespace: String,
    /// Controller image.
    #[arg(long, default_value = concat!("kedge:", env!("CARGO_PKG_VERSION")))]
    image: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let docs = kedge_controller::crd::install_manifests(&args.namespace, &args.image);
    print!("{}", kedge_yaml::emit_documents(&docs));
    Ok(())
}
