/* One card's failure stays in its card: the rest of the page goes on. */
import React from "react";
import { Alert } from "@patternfly/react-core";

export class CardBoundary extends React.Component {
    constructor(props) {
        super(props);
        this.state = { error: null };
    }

    static getDerivedStateFromError(error) {
        return { error };
    }

    render() {
        if (this.state.error)
            return <Alert isInline variant="danger" title={`This part of the page failed: ${this.state.error.message}`} />;
        return this.props.children;
    }
}
